// The box's disks (docs/disks.md): each disk with its size, how it is attached and what it
// holds, where that is mounted, and what could not be read. For admins. The list follows disks
// being plugged in and pulled out (the disks service reads them again on the kernel's word).
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t, bytes } from "/app/text.js";

const EVERY_MS = 5000;

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("disks.title"))));
  if (!admin) { main.append(h("p", { class: "muted" }, t("disks.admins_only"))); return {}; }
  const list = h("div", { id: "disks", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  main.append(list);
  let gone = false, timer = 0, last = "";
  async function refresh() {
    clearTimeout(timer);
    try {
      const inventory = await api("GET", "/api/v1/disks");
      // Redrawn only when something changed, so a reader's place and focus stay.
      const text = JSON.stringify(inventory);
      if (!gone && text !== last) { last = text; show(list, inventory.disks); }
    } catch (e) {
      if (!gone) list.replaceChildren(h("p", { class: "error" }, e.text || String(e)));
    }
    if (!gone) timer = setTimeout(refresh, document.hidden ? EVERY_MS * 6 : EVERY_MS);
  }
  refresh();
  return { leave() { gone = true; clearTimeout(timer); } };
}

function show(list, disks) {
  if (!disks.length) { list.replaceChildren(h("p", { class: "muted", id: "no-disks" }, t("disks.none"))); return; }
  list.replaceChildren(...disks.map(diskCard));
}

function diskCard(d) {
  const name = [d.vendor, d.model].filter(Boolean).join(" ") || t("disks.unnamed", { name: d.name });
  const facts = [bytes(d.size_bytes), t(`disks.transport.${d.transport}`), d.rotational ? t("disks.spinning") : null,
    d.serial ? t("disks.serial", { serial: d.serial }) : null].filter(Boolean).join(" · ");
  return h("section", { class: "card disk", "data-name": d.name },
    h("h2", {}, name),
    h("p", { class: "muted disk-facts" }, facts),
    d.health ? healthLine(d.health) : null,
    d.system ? h("p", { class: "notice disk-system" }, t("disks.system")) : null,
    d.problem ? h("p", { class: "error disk-problem" }, t("disks.problem", { why: d.problem })) : null,
    d.volumes.length
      ? h("ul", { class: "volumes" }, ...d.volumes.map(volumeLine))
      : d.problem ? null : h("p", { class: "muted disk-blank" }, t(d.partition_table ? "disks.no_partitions" : "disks.blank")));
}

// What the disk says of its own health (smartctl), worst first.
function healthLine(x) {
  const facts = [x.temperature_c != null ? t("disks.temperature", { c: x.temperature_c }) : null,
    x.power_on_hours != null ? t("disks.hours", { n: x.power_on_hours.toLocaleString() }) : null].filter(Boolean).join(" · ");
  const cls = { failing: "error", warning: "warning", good: "muted", unknown: "muted" }[x.verdict] || "muted";
  const words = x.verdict === "unknown"
    ? t("disks.health.unknown", { why: x.unavailable || "" })
    : t(`disks.health.${x.verdict}`, { why: x.reasons.join("; ") });
  return h("p", { class: `${cls} disk-health`, "data-verdict": x.verdict }, facts ? `${words} · ${facts}` : words);
}

function volumeLine(v) {
  const fs = v.file_system;
  const what = fs
    ? [fs.label ? `“${fs.label}”` : null, t(`disks.kind.${fs.kind}`), fs.pool && fs.pool.devices > 1 ? t("disks.pool", { n: fs.pool.devices }) : null].filter(Boolean).join(" · ")
    : t("disks.unknown_fs");
  const where = v.mounts.length
    ? v.mounts.map((m) => t(m.read_only ? "disks.mounted_ro" : "disks.mounted", { path: m.path })).join(", ")
    : t("disks.not_mounted");
  return h("li", { class: "volume", "data-name": v.name },
    h("span", {}, `${v.number ? t("disks.partition", { n: v.number }) : t("disks.whole")} · ${bytes(v.size_bytes)} · ${what}`),
    h("span", { class: "muted" }, ` — ${where}`),
    v.problem ? h("span", { class: "error" }, ` ${v.problem}`) : null);
}
