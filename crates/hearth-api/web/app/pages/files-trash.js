// The trash of the family member's files (#/files-trash): what they, a phone or a laptop deleted
// in the last 30 days, to put back where it was (beside whatever took its name since) or to
// remove for good (docs/files.md, "Versions and trash").
import { h, twice as twiceBy } from "/app/dom.js";
import { api } from "/app/api.js";
import { t, bytes } from "/app/text.js";

export function render(main, route, app) {
  const list = h("div", { id: "files-trash" }, h("p", { class: "muted" }, t("loading")));
  const empty = h("button", { type: "button", class: "small danger", id: "files-trash-empty", hidden: true }, t("files.trash_empty"));
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("files.trash")), empty),
    h("nav", { class: "crumbs" }, h("a", { href: "#/files" }, t("files.title")), " › ", t("files.trash")),
    h("p", { class: "muted" }, t("files.trash_lead")),
    list);

  // Two steps, like deleting a file: the first click asks.
  const twice = (button, sure, action) => twiceBy(button, sure, action, (e) => app.toast(e.message));

  async function load() {
    let items;
    try {
      items = (await api("GET", "/api/v1/files/trash")).items;
    } catch (e) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
      return;
    }
    empty.hidden = !items.length;
    if (!items.length) { list.replaceChildren(h("p", { class: "empty", id: "files-trash-none" }, t("files.trash_none"))); return; }
    list.replaceChildren(h("ul", { class: "plain-list" }, ...items.map((item) => {
      const back = h("button", { type: "button", class: "small" }, t("files.put_back"));
      back.addEventListener("click", async () => {
        back.disabled = true;
        try {
          const r = await api("POST", `/api/v1/files/trash/${item.id}/restore`);
          app.toast(t("files.back_at", { path: r.path }));
          load();
        } catch (e) { app.toast(e.message); back.disabled = false; }
      });
      const gone = h("button", { type: "button", class: "small danger" }, t("files.delete_now"));
      twice(gone, t("files.delete_sure"), async () => { await api("DELETE", `/api/v1/files/trash/${item.id}`); load(); });
      const when = new Date(item.deleted_at * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      return h("li", { "data-path": item.path },
        h("span", { class: "file-text" }, h("bdi", {}, item.path + (item.folder ? "/" : "")),
          h("span", { class: "muted file-meta" }, ` ${t("files.deleted_on", { when })} · ${bytes(item.size)}`)),
        h("span", { class: "actions" }, back, gone));
    })));
  }
  twice(empty, t("files.trash_empty_sure"), async () => { await api("DELETE", "/api/v1/files/trash"); empty.removeAttribute("data-sure"); empty.textContent = t("files.trash_empty"); empty.disabled = false; load(); });
  load();
}
