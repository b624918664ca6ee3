// People: the faces the box found in the family's photos, grouped into people (docs/ml.md). The
// list shows each person's face; one person's page names them, hides them, merges them with
// someone who is the same person, and shows their photos.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";
import { assetGrid } from "/app/grid.js";
import { faceCrop } from "/app/faces.js";

export function render(main, route, app) {
  if (route.parts[0]) return person(main, Number(route.parts[0]), app);
  const showHidden = route.query.get("hidden") === "true";
  const list = h("div", { id: "people", class: "album-grid" });
  const toggle = h("a", { id: "people-hidden", href: showHidden ? "#/people" : "#/people?hidden=true" }, t(showHidden ? "people.hide_hidden" : "people.show_hidden"));
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("people.title")), toggle), list);
  api("GET", `/api/v1/people${showHidden ? "?hidden=true" : ""}`).then(({ people }) => {
    if (!people.length) { list.replaceChildren(h("p", { class: "empty" }, t("people.empty"))); return; }
    list.replaceChildren(...people.map((p) => h("a", { class: "album-card person-card", href: `#/people/${p.id}`, "data-person": p.id },
      faceCrop(p.cover),
      h("span", { class: "album-title" }, p.name ? h("bdi", {}, p.name) : h("span", { class: "muted" }, t("people.unnamed"))),
      h("span", { class: "muted" }, p.hidden ? t("people.hidden_count", { n: p.assets }) : t("photos.count", { n: p.assets })))));
  }).catch((e) => app.toast(e.text || String(e)));
}

// A face cut out of its photo's grid thumbnail by CSS: the thumbnail scaled so the face's box
// fills the square, and moved so the box is in it.
function person(main, id, app) {
  const title = h("h1", {}, "");
  const crop = h("span", {});
  const nameForm = h("form", { id: "person-name-form", class: "inline-form" },
    h("label", { for: "person-name" }, t("people.name_label")),
    h("input", { id: "person-name", autocomplete: "off", maxlength: 100 }),
    h("button", { type: "submit", class: "primary" }, t("people.save")),
    h("p", { class: "error", role: "alert" }));
  const hide = h("button", { type: "button", class: "small", id: "person-hide" }, "");
  const mergeForm = h("form", { id: "person-merge", class: "inline-form", hidden: true },
    h("label", { for: "merge-with" }, t("people.merge_label")),
    h("select", { id: "merge-with" }),
    h("button", { type: "submit" }, t("people.merge")));
  const grid = h("div", { id: "person-assets" });
  main.append(h("div", { class: "page-head" }, h("a", { href: "#/people", class: "back" }, t("people.all")), title),
    h("section", { class: "card person-head" }, crop, nameForm, hide, mergeForm), grid);
  let current = null;

  nameForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = nameForm.querySelector(".error");
    error.textContent = "";
    try {
      current = await api("PATCH", `/api/v1/people/${id}`, { name: nameForm.querySelector("#person-name").value.trim() });
      show();
      app.toast(t("people.saved"));
    } catch (e) { error.textContent = e.text; }
  });
  hide.addEventListener("click", async () => {
    try { current = await api("PATCH", `/api/v1/people/${id}`, { hidden: !current.hidden }); show(); } catch (e) { app.toast(e.text); }
  });
  mergeForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const other = Number(mergeForm.querySelector("#merge-with").value);
    if (!other) return;
    try {
      // The person named here keeps this page; the other one's faces come to them.
      current = await api("POST", `/api/v1/people/${id}/merge`, { people: [other] });
      app.toast(t("people.merged"));
      load();
    } catch (e) { app.toast(e.text); }
  });

  function show() {
    title.replaceChildren(current.name ? h("bdi", {}, current.name) : t("people.unnamed"));
    nameForm.querySelector("#person-name").value = current.name || "";
    hide.textContent = t(current.hidden ? "people.show" : "people.hide");
    crop.replaceChildren(faceCrop(current.cover));
  }

  async function load() {
    try {
      current = await api("GET", `/api/v1/people/${id}`);
      show();
      const { people } = await api("GET", "/api/v1/people?hidden=true");
      const others = people.filter((p) => p.id !== id);
      mergeForm.hidden = !others.length;
      mergeForm.querySelector("#merge-with").replaceChildren(h("option", { value: "" }, t("people.merge_choose")),
        ...others.map((p) => h("option", { value: p.id }, p.name || t("people.unnamed_with", { n: p.assets }))));
      const assets = [];
      let after = "";
      for (;;) {
        const page = await api("GET", `/api/v1/people/${id}/assets?limit=1000${after}`);
        assets.push(...page.assets);
        if (!page.next || !page.assets.length) break;
        after = `&after_taken_at=${page.next[0]}&after_id=${page.next[1]}`;
      }
      grid.replaceChildren(assets.length ? assetGrid("person-grid", assets, { toast: app.toast }) : h("p", { class: "muted" }, t("people.no_photos")));
    } catch (e) {
      main.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }
  load();
}
