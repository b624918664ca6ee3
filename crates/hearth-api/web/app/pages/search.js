// Search: words (places, cameras, file names; every word must match, as a prefix), with
// suggestions from the family's own places and cameras as they type; photos or videos;
// favourites. The query is in the address (`#/search?q=paris`), so a search can be bookmarked.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";
import { assetGrid } from "/app/grid.js";

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
    try {
      const page = await api("GET", `/api/v1/search?${params}&limit=500`);
      if (!page.assets.length) { results.replaceChildren(h("p", { class: "empty", id: "search-none" }, t("search.none"))); return; }
      results.replaceChildren(h("p", { class: "muted", id: "search-count" }, page.next ? t("search.many", { n: page.assets.length }) : t("photos.count", { n: page.assets.length })),
        assetGrid("search-grid", page.assets, { toast: app.toast }));
    } catch (e) {
      results.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }
  run(route.query);
  if (!q.value) q.focus();
  return { update: (r) => run(r.query) };
}
