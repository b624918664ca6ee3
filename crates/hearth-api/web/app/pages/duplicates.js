// Near-duplicates to review: photos the box finds almost identical (re-saved copies, bursts),
// grouped. In each group the largest is kept unless the family picks another; the rest go to
// the trash (30 days to change their mind).
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t, takenDate } from "/app/text.js";

export function render(main, route, app) {
  const list = h("div", { id: "duplicates" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("dups.title"))), h("p", { class: "muted" }, t("dups.lead")), list);

  async function load() {
    try {
      const { groups } = await api("GET", "/api/v1/duplicates");
      if (!groups.length) { list.replaceChildren(h("p", { class: "empty", id: "dups-none" }, t("dups.none"))); return; }
      list.replaceChildren(...groups.map(group));
    } catch (e) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }

  function group(assets, n) {
    const pixels = (a) => (a.width || 0) * (a.height || 0);
    let keep = assets.reduce((best, a) => (pixels(a) > pixels(best) ? a : best), assets[0]).id;
    const name = `keep-${n}`;
    const choices = assets.map((a) => {
      const id = `dup-${a.id}`;
      const radio = h("input", { type: "radio", name, id, value: a.id, checked: a.id === keep });
      radio.addEventListener("change", () => { keep = a.id; });
      return h("div", { class: "dup" },
        h("label", { for: id },
          h("img", { alt: t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) }), loading: "lazy", src: `/api/v1/assets/${a.id}/thumbnail` }),
          h("span", {}, radio, ` ${a.width ?? "?"} × ${a.height ?? "?"}`)));
    });
    const resolve = h("button", { type: "button", class: "primary" }, t("dups.resolve"));
    const el = h("fieldset", { class: "card dup-group", "data-group": n }, h("legend", {}, t("dups.keep")), h("div", { class: "dup-row" }, choices), resolve);
    resolve.addEventListener("click", async () => {
      const trash = assets.map((a) => a.id).filter((id) => id !== keep);
      resolve.disabled = true;
      try {
        await api("POST", "/api/v1/duplicates/resolve", { trash });
        app.toast(t("select.trashed", { n: trash.length }));
        el.remove();
        if (!list.querySelector(".dup-group")) list.replaceChildren(h("p", { class: "empty", id: "dups-none" }, t("dups.none")));
      } catch (e) { app.toast(e.text); resolve.disabled = false; }
    });
    return el;
  }
  load();
}
