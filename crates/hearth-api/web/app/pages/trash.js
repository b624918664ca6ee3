// The trash: what was thrown away in the last 30 days, each with a way back.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t, takenDate } from "/app/text.js";

export function render(main, route, app) {
  const list = h("div", { id: "trash", class: "trash-grid" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("trash.title"))), h("p", { class: "muted" }, t("trash.lead")), list);

  async function load() {
    try {
      const assets = [];
      let after = "";
      for (;;) {
        const page = await api("GET", `/api/v1/trash?limit=1000${after}`);
        assets.push(...page.assets);
        if (!page.next || !page.assets.length) break;
        after = `&after_taken_at=${page.next[0]}&after_id=${page.next[1]}`;
      }
      if (!assets.length) { list.replaceChildren(h("p", { class: "empty", id: "trash-empty" }, t("trash.empty"))); return; }
      list.replaceChildren(...assets.map((a) => {
        const date = takenDate(a.taken_at, a.taken_offset, false);
        const restore = h("button", { type: "button", class: "small", "aria-label": t("trash.restore_one", { date }) }, t("trash.restore"));
        restore.addEventListener("click", async () => {
          restore.disabled = true;
          try {
            await api("POST", `/api/v1/assets/${a.id}/restore`);
            app.toast(t("trash.restored"));
            load();
          } catch (e) { app.toast(e.text); restore.disabled = false; }
        });
        return h("figure", { class: "trashed", "data-id": a.id },
          a.thumbnails === "failed" ? h("span", { class: "no-preview" }, t("photos.no_preview")) : h("img", { alt: t("photos.photo_of", { date }), loading: "lazy", src: `/api/v1/assets/${a.id}/thumbnail` }),
          h("figcaption", {}, restore));
      }));
    } catch (e) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }
  load();
}
