// Search: words (places, cameras, file names, people, things; every word must match, as a
// prefix), with suggestions from the family's own places and cameras as they type; photos or
// videos; favourites. When the family provided an image/text model, the pictures nearest to the
// text by meaning come below ("a red car in the snow"); without one that part is simply absent.
// The query is in the address (`#/search?q=paris`), so a search can be bookmarked.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";
import { assetGrid } from "/app/grid.js";

// Whether this box can search by meaning, asked once per page load.
let meaningOffered = null;
function canSearchByMeaning() {
  if (!meaningOffered) meaningOffered = api("GET", "/api/v1/search/capabilities").then((c) => c.meaning, () => { meaningOffered = null; return false; });
  return meaningOffered;
}

export function render(main, route, app) {
  const q = h("input", { id: "search-text", type: "search", list: "search-suggestions", autocomplete: "off", enterkeyhint: "search", value: route.query.get("q") || "" });
  const list = h("datalist", { id: "search-suggestions" });
  const kind = h("select", { id: "search-kind" },
    h("option", { value: "" }, t("search.any")), h("option", { value: "photo" }, t("search.photos")), h("option", { value: "video" }, t("search.videos")));
  kind.value = route.query.get("kind") || "";
  const favourite = h("input", { type: "checkbox", id: "search-favourite", checked: route.query.get("favourite") === "true" });
  const results = h("div", { id: "search-results", "aria-live": "polite" });
  const form = h("form", { id: "search-form", role: "search", class: "search-form" },
    h("label", { for: "search-text", class: "visually-hidden" }, t("search.label")), q, list,
    h("label", { for: "search-kind", class: "visually-hidden" }, t("search.kind")), kind,
    h("label", { class: "check" }, favourite, t("search.favourites")),
    h("button", { type: "submit", class: "primary" }, t("search.go")));
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("search.title"))), form, results);

  let typing = 0;
  q.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(async () => {
      const word = q.value.trim().split(/\s+/).pop() || "";
      if (!word) { list.replaceChildren(); return; }
      try {
        const { suggestions } = await api("GET", `/api/v1/search/suggestions?q=${encodeURIComponent(word)}`);
        const before = q.value.trim().split(/\s+/).slice(0, -1).join(" ");
        list.replaceChildren(...suggestions.map((s) => h("option", { value: before ? `${before} ${s.text}` : s.text, label: t(`search.kind_${s.kind}`, { n: s.count }) })));
      } catch (_) { /* suggestions are a help, not a need */ }
    }, 150);
  });

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    if (kind.value) params.set("kind", kind.value);
    if (favourite.checked) params.set("favourite", "true");
    app.go(`#/search?${params}`);
  });

  async function run(query) {
    const params = new URLSearchParams();
    for (const k of ["q", "kind", "favourite"]) if (query.get(k)) params.set(k, query.get(k));
    if (![...params.keys()].length) { results.replaceChildren(h("p", { class: "muted" }, t("search.hint"))); return; }
    results.replaceChildren(h("p", { class: "muted", role: "status" }, t("search.searching")));
    const text = query.get("q") || "";
    const [words, nearest] = await Promise.all([
      api("GET", `/api/v1/search?${params}&limit=500`).then((page) => ({ page }), (error) => ({ error })),
      text.trim() ? byMeaning(text.trim()) : null,
    ]);
    const parts = [];
    if (words.error) parts.push(h("p", { class: "error", role: "alert" }, words.error.text || String(words.error)));
    // Beside pictures found by meaning, "nothing found" is a line, not the page's message.
    else if (!words.page.assets.length) parts.push(h("p", { class: nearest ? "muted" : "empty", id: "search-none" }, t(nearest ? "search.none_words" : "search.none")));
    else parts.push(h("p", { class: "muted", id: "search-count" }, words.page.next ? t("search.many", { n: words.page.assets.length }) : t("photos.count", { n: words.page.assets.length })),
      assetGrid("search-grid", words.page.assets, { toast: app.toast }));
    if (nearest) parts.push(nearest);
    results.replaceChildren(...parts);
  }

  // The pictures nearest to the text by meaning; null when no model is set up or nothing has a
  // vector yet.
  async function byMeaning(text) {
    if (!(await canSearchByMeaning())) return null;
    try {
      const r = await api("GET", `/api/v1/search/meaning?${new URLSearchParams({ q: text, limit: "60" })}`);
      if (!r.assets.length) return null;
      return h("section", { id: "search-meaning", "aria-labelledby": "search-meaning-title" },
        h("h2", { id: "search-meaning-title" }, t("search.meaning_title", { q: text })),
        r.covered < r.photos ? h("p", { class: "muted", id: "search-meaning-partial" }, t("search.meaning_partial", { n: r.covered, of: r.photos })) : null,
        assetGrid("search-meaning-grid", r.assets, { toast: app.toast }));
    } catch (e) {
      if (e.status === 409) return null; // the model was taken away since
      return h("p", { class: "muted", id: "search-meaning-error" }, t("search.meaning_failed", { why: e.text || String(e) }));
    }
  }
  run(route.query);
  if (!q.value) q.focus();
  return { update: (r) => run(r.query) };
}
