// Backups of the family's computers on this box (restic at /restic/<user>/<name>/): what each
// holds and when it last arrived, and how to set one up.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t, bytes, takenDate } from "/app/text.js";

export function render(main, route, app) {
  const list = h("div", { id: "hosted", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const usage = h("div", { id: "hosted-usage" });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("backups.title"))),
    h("section", { class: "card" }, h("h2", {}, t("backups.computers")), usage, list),
    h("section", { class: "card" }, h("h2", {}, t("backups.how")),
      h("p", {}, t("backups.how_lead")),
      h("p", { class: "secret", id: "hosted-address" }, ""),
      h("p", {}, h("a", { href: "#/family" }, t("backups.make_password")))));

  (async () => {
    let hosted;
    try { hosted = await api("GET", "/api/v1/backups/hosted"); } catch (e) { list.replaceChildren(h("p", { class: "error" }, e.text || String(e))); return; }
    main.querySelector("#hosted-address").textContent = `restic -r rest:${location.protocol}//${app.me.name}:PASSWORD@${location.host}${hosted.path}NAME init`;
    if (hosted.quota_bytes) {
      usage.replaceChildren(
        h("progress", { max: hosted.quota_bytes, value: Math.min(hosted.used_bytes, hosted.quota_bytes), "aria-label": t("backups.used") }),
        h("p", { class: "muted" }, t("backups.used_of", { used: bytes(hosted.used_bytes), quota: bytes(hosted.quota_bytes) })));
    }
    if (!hosted.repositories.length) { list.replaceChildren(h("p", { class: "empty" }, t("backups.none"))); return; }
    // A list rather than a table: four columns do not fit a phone's width.
    list.replaceChildren(h("ul", { class: "plain-list repositories" }, hosted.repositories.map((r) => h("li", { "data-repository": r.name, "data-snapshots": r.snapshots },
      h("strong", {}, h("bdi", {}, r.name)),
      h("p", { class: "muted" }, t("backups.line", {
        size: bytes(r.bytes),
        n: r.snapshots,
        last: r.last_snapshot_at ? takenDate(r.last_snapshot_at, -new Date().getTimezoneOffset()) : t("backups.never"),
      }))))));
  })();
}
