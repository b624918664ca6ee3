// People: the faces the box found in the family's photos, grouped into people (docs/ml.md). The
// list shows each person's face; one person's page names them, hides them, merges them with
// someone who is the same person, splits off the faces that are someone else, and shows their
// photos.
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
  // Their faces, to pick the ones that are someone else (POST …/split).
  const facesCount = h("h2", {}, "");
  const choose = h("button", { type: "button", class: "small", id: "person-choose", "aria-pressed": "false" }, t("people.choose"));
  const hint = h("p", { class: "muted", hidden: true }, t("people.choose_hint"));
  const faceList = h("div", { id: "person-faces", class: "face-picks" });
  const more = h("button", { type: "button", class: "small", id: "person-faces-more", hidden: true }, t("people.faces_more"));
  const chosenCount = h("span", { role: "status" }, "");
  const splitButton = h("button", { type: "button", class: "primary", id: "person-split", disabled: true }, t("people.split"));
  const cancel = h("button", { type: "button", class: "quiet" }, t("people.split_cancel"));
  const splitBar = h("div", { class: "selection-bar", id: "person-split-bar", hidden: true }, chosenCount, splitButton, cancel);
  const facesSection = h("section", { class: "card person-faces", hidden: true },
    h("div", { class: "page-head" }, facesCount, choose), hint, faceList, more, splitBar);
  main.append(h("div", { class: "page-head" }, h("a", { href: "#/people", class: "back" }, t("people.all")), title),
    h("section", { class: "card person-head" }, crop, nameForm, hide, mergeForm), facesSection, grid);
  let current = null;
  let nextFaces = null;
  const picked = new Set();

  function choosing(on) {
    if (!on) picked.clear();
    choose.setAttribute("aria-pressed", String(on));
    hint.hidden = !on;
    splitBar.hidden = !on;
    faceList.classList.toggle("choosing", on);
    for (const b of faceList.querySelectorAll("button")) b.setAttribute("aria-pressed", String(picked.has(Number(b.dataset.face))));
    counted();
  }
  function counted() {
    chosenCount.textContent = t("people.chosen", { n: picked.size });
    // Every face of theirs cannot be someone else: that is a new name, not a split.
    splitButton.disabled = !picked.size || picked.size >= current.faces;
  }
  choose.addEventListener("click", () => choosing(choose.getAttribute("aria-pressed") !== "true"));
  cancel.addEventListener("click", () => choosing(false));
  faceList.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-face]");
    if (!b) return;
    if (choose.getAttribute("aria-pressed") !== "true") { location.hash = `#/photos/${b.dataset.asset}`; return; }
    const face = Number(b.dataset.face);
    if (picked.has(face)) picked.delete(face); else picked.add(face);
    b.setAttribute("aria-pressed", String(picked.has(face)));
    counted();
  });
  splitButton.addEventListener("click", async () => {
    const faces = [...picked];
    splitButton.disabled = true;
    try {
      const made = await api("POST", `/api/v1/people/${id}/split`, { faces });
      app.toast(t("people.split_done", { n: made.faces }));
      app.go(`#/people/${made.id}`);
    } catch (e) { app.toast(e.text || String(e)); counted(); }
  });
  more.addEventListener("click", () => moreFaces().catch((e) => app.toast(e.text || String(e))));

  async function moreFaces() {
    const page = await api("GET", `/api/v1/people/${id}/faces?limit=200${nextFaces ? `&after=${nextFaces}` : ""}`);
    const start = faceList.childElementCount;
    faceList.append(...page.faces.map((f, i) => h("button", {
      type: "button", class: "face-pick", "data-face": f.id, "data-asset": f.asset_id, "aria-pressed": String(picked.has(f.id)),
      "aria-label": t("people.face_n", { n: start + i + 1 }),
    }, faceCrop(f))));
    nextFaces = page.next;
    more.hidden = nextFaces == null;
  }

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
      facesCount.textContent = t("people.faces", { n: current.faces });
      facesSection.hidden = !current.faces;
      // One face cannot be split; the viewer's "who is this?" moves it instead.
      choose.hidden = current.faces < 2;
      faceList.replaceChildren();
      nextFaces = null;
      choosing(false);
      await moreFaces();
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
