// The box's disks (docs/disks.md): where the family's data lives, each disk with its size, how
// it is attached and what it holds, where that is mounted, and what could not be read; moving
// the data from the card to a disk, mirroring it on a second disk (or replacing a missing one),
// scrubbing the pool, and ejecting a disk. For admins. The list follows disks being plugged in
// and pulled out (the disks service reads them again on the kernel's word).
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t, bytes } from "/app/text.js";

const EVERY_MS = 5000;

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("disks.title"))));
  if (!admin) { main.append(h("p", { class: "muted" }, t("disks.admins_only"))); return {}; }
  const home = h("div", { id: "data-home" });
  const list = h("div", { id: "disks", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  main.append(home, list);
  let gone = false, timer = 0, last = "", moving = false;
  async function refresh() {
    clearTimeout(timer);
    try {
      const inventory = await api("GET", "/api/v1/disks");
      // Redrawn only when something changed, so a reader's place and focus stay.
      // Not while the family is filling in the move form, which a redraw would reset.
      const text = JSON.stringify(inventory);
      if (!gone && !moving && text !== last) {
        last = text;
        home.replaceChildren(...dataHome(inventory.data), ...poolLines(inventory.pool, refresh));
        show(list, inventory, (on) => { moving = on; });
      }
    } catch (e) {
      if (!gone) list.replaceChildren(h("p", { class: "error" }, e.text || String(e)));
    }
    if (!gone) timer = setTimeout(refresh, document.hidden ? EVERY_MS * 6 : EVERY_MS);
  }
  refresh();
  return { leave() { gone = true; clearTimeout(timer); } };
}

// Where the data lives, and what this start did about a move.
function dataHome(data) {
  const lines = [h("p", { class: "data-on", "data-on": data.on },
    data.on === "disk" ? t("disks.data_on_disk", { uuid: data.uuid }) : t("disks.data_on_card"))];
  if (data.moved) {
    const m = data.moved;
    const rate = m.seconds > 0 ? bytes(m.count.bytes / m.seconds) : "";
    lines.push(h("p", { class: "notice data-moved" },
      t("disks.moved", { files: m.count.files.toLocaleString(), size: bytes(m.count.bytes), seconds: Math.round(m.seconds), rate })));
  }
  if (data.given_up) lines.push(h("p", { class: "warning data-given-up" }, t("disks.given_up", { why: data.given_up })));
  if (data.on === "disk" && data.card_copy === "freed") lines.push(h("p", { class: "muted card-copy", "data-state": "freed" }, t("disks.card_copy.freed")));
  if (data.on === "disk" && data.card_copy === "kept") lines.push(cardCopy());
  return lines;
}

// The card's copy from before the move: kept until the family says the move went well.
function cardCopy() {
  const box = h("div", { class: "card-copy", "data-state": "kept" });
  const start = h("button", { type: "button", class: "card-copy-start" }, t("disks.card_copy.start"));
  const said = h("p", { class: "card-copy-said", role: "status" });
  start.addEventListener("click", () => {
    const go = h("button", { type: "button", class: "danger card-copy-go" }, t("disks.card_copy.go"));
    const cancel = h("button", { type: "button", class: "card-copy-cancel" }, t("disks.move.cancel"));
    cancel.addEventListener("click", () => box.replaceChildren(h("p", {}, t("disks.card_copy.kept")), start, said));
    go.addEventListener("click", async () => {
      go.disabled = true;
      said.className = "muted card-copy-said";
      said.textContent = t("disks.card_copy.freeing");
      try {
        await api("POST", "/api/v1/disks/card-copy/free", {});
        box.replaceChildren(h("p", { class: "notice card-copy-said" }, t("disks.card_copy.freed")));
      } catch (e) {
        go.disabled = false;
        said.className = "error card-copy-said";
        said.textContent = e.text || String(e);
      }
    });
    box.replaceChildren(h("p", { class: "warning" }, t("disks.card_copy.explain")), h("div", { class: "actions" }, go, cancel), said);
  });
  box.append(h("p", {}, t("disks.card_copy.kept")), start, said);
  return box;
}

// The data's btrfs pool: how it stands, its disks, what it is doing, its last scrub.
function poolLines(pool, refresh) {
  if (!pool) return [];
  const cls = { degraded: "error", converting: "notice", mirrored: "muted", single: "muted" }[pool.state];
  const lines = [h("p", { class: `${cls} pool-state`, "data-state": pool.state, role: pool.state === "degraded" ? "alert" : null },
    t(`disks.pool_state.${pool.state}`, { n: pool.devices.length, missing: pool.devices.filter((d) => d.missing).length }))];
  if (pool.operation) lines.push(h("p", { class: "notice pool-operation" }, t("disks.pool_operation", { what: pool.operation })));
  const errors = pool.devices.filter((d) => Object.values(d.errors).some((n) => n > 0));
  for (const d of errors) {
    lines.push(h("p", { class: "warning pool-errors" }, t("disks.pool_errors", {
      disk: d.serial || d.volume || t("disks.pool_member", { id: d.id }), counts: Object.entries(d.errors).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(", ") })));
  }
  const s = pool.last_scrub;
  lines.push(h("p", { class: s && (s.uncorrectable || s.errors) ? (s.uncorrectable ? "error last-scrub" : "warning last-scrub") : "muted last-scrub" },
    pool.scrubbing ? t("disks.scrubbing")
      : s ? t("disks.last_scrub", { when: new Date(s.started * 1000).toLocaleString(), status: s.status, size: bytes(s.bytes), errors: s.errors, corrected: s.corrected, uncorrectable: s.uncorrectable })
        : t("disks.never_scrubbed")));
  if (!pool.scrubbing) {
    const go = h("button", { type: "button", class: "scrub-now" }, t("disks.scrub_now"));
    const said = h("span", { class: "muted scrub-said", role: "status" });
    go.addEventListener("click", async () => {
      go.disabled = true;
      try { await api("POST", "/api/v1/disks/pool/scrub", {}); said.textContent = t("disks.scrub_started"); refresh(); }
      catch (e) { go.disabled = false; said.className = "error scrub-said"; said.textContent = e.text || String(e); }
    });
    lines.push(h("p", {}, go, " ", said));
  }
  return lines;
}

function show(list, inventory, setMoving) {
  const disks = inventory.disks;
  if (!disks.length) { list.replaceChildren(h("p", { class: "muted", id: "no-disks" }, t("disks.none"))); return; }
  list.replaceChildren(...disks.map((d) => diskCard(d, inventory, setMoving)));
}

// Whether a disk is free to be given something (the server checks again, and says why not).
function isFree(d) {
  return d.serial && !d.system && !d.read_only && !d.problem && !d.volumes.some((v) => v.mounts.length);
}

// What may be offered on a free disk: the data (still on the card), a mirror of it (a pool of
// one disk), or the place of the pool's missing disk.
function offer(d, inventory) {
  if (!isFree(d)) return null;
  if (inventory.data.on === "card") return "move";
  const pool = inventory.pool;
  if (!pool || pool.operation) return null;
  if (pool.state === "degraded") return "replace";
  if (pool.state === "single") return "mirror";
  return null;
}

// What the disk holds, in words, or "" when blank.
function holds(d) {
  if (!d.volumes.length) return d.partition_table ? t("disks.empty_table") : "";
  return d.volumes.map((v) => v.file_system
    ? [t(`disks.kind.${v.file_system.kind}`), v.file_system.label ? `“${v.file_system.label}”` : null].filter(Boolean).join(" ")
    : t("disks.unknown_fs")).join(", ");
}

// A change that erases the disk, asked in two steps: what will happen (and what is erased), then
// the request. `kind` is move, mirror or replace.
function eraseForm(d, kind, setMoving) {
  const box = h("div", { class: `${kind}-data` });
  const start = h("button", { type: "button", class: `${kind}-start` }, t(`disks.${kind}.start`));
  start.addEventListener("click", () => { setMoving(true); box.replaceChildren(form()); });
  box.append(start);
  function form() {
    const what = holds(d);
    const erase = what ? h("input", { type: "checkbox", id: `erase-${d.name}`, class: `${kind}-erase` }) : null;
    const fs = kind === "move" ? h("select", { class: "move-fs", "aria-label": t("disks.move.fs") },
      h("option", { value: "ext4" }, t("disks.move.ext4")), h("option", { value: "btrfs" }, t("disks.move.btrfs"))) : null;
    const go = h("button", { type: "button", class: `danger ${kind}-go` }, t(`disks.${kind}.go`));
    const cancel = h("button", { type: "button", class: `${kind}-cancel` }, t("disks.move.cancel"));
    const said = h("p", { class: `${kind}-said`, role: "status" });
    cancel.addEventListener("click", () => { setMoving(false); box.replaceChildren(start); });
    go.addEventListener("click", async () => {
      if (erase && !erase.checked) { said.className = `error ${kind}-said`; said.textContent = t("disks.move.tick_erase"); return; }
      go.disabled = true;
      said.className = `muted ${kind}-said`;
      said.textContent = t("disks.move.preparing");
      const serial = encodeURIComponent(d.serial);
      try {
        if (kind === "move") await api("POST", `/api/v1/disks/${serial}/use-for-data`, { file_system: fs.value, erase: !!erase });
        else await api("POST", `/api/v1/disks/${serial}/mirror`, { action: kind === "mirror" ? "add" : "replace", erase: !!erase });
        said.className = `notice ${kind}-said`;
        said.textContent = t(`disks.${kind}.done`);
        if (kind !== "move") setTimeout(() => setMoving(false), 3000);
      } catch (e) {
        go.disabled = false;
        said.className = `error ${kind}-said`;
        said.textContent = e.text || String(e);
      }
    });
    return h("div", { class: `${kind}-form` },
      h("p", {}, t(`disks.${kind}.explain`)),
      what ? h("p", { class: "warning" }, h("label", { class: "check", for: `erase-${d.name}` }, erase, " ", t("disks.move.erase", { what }))) : null,
      fs ? h("label", {}, t("disks.move.fs"), " ", fs) : null,
      h("div", { class: "actions" }, go, cancel),
      said);
  }
  return box;
}

// Eject: every file system of the disk unmounted so it can be unplugged; the server says who
// holds it when something does.
function ejectButton(d) {
  const go = h("button", { type: "button", class: "eject" }, t("disks.eject"));
  const said = h("span", { class: "eject-said", role: "status" });
  go.addEventListener("click", async () => {
    go.disabled = true;
    said.className = "muted eject-said";
    said.textContent = t("disks.ejecting");
    try {
      const done = await api("POST", `/api/v1/disks/${encodeURIComponent(d.serial)}/eject`, {});
      said.className = "notice eject-said";
      said.textContent = t("disks.ejected");
      void done;
    } catch (e) {
      go.disabled = false;
      said.className = "error eject-said";
      said.textContent = e.text || String(e);
    }
  });
  return h("p", { class: "eject-line" }, go, " ", said);
}

function diskCard(d, inventory, setMoving) {
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
      : d.problem ? null : h("p", { class: "muted disk-blank" }, t(d.partition_table ? "disks.no_partitions" : "disks.blank")),
    offer(d, inventory) ? eraseForm(d, offer(d, inventory), setMoving) : null,
    d.serial && !d.system && d.volumes.some((v) => v.mounts.length) ? ejectButton(d) : null);
}

// What the disk says of its own health (smartctl), worst first.
function healthLine(x) {
  const test = x.self_test_running ? t("disks.self_test_running")
    : x.last_self_test ? t(x.last_self_test.passed === false ? "disks.self_test_failed" : x.last_self_test.passed ? "disks.self_test_passed" : "disks.self_test_stopped",
      { kind: x.last_self_test.kind, result: x.last_self_test.result }) : null;
  const facts = [x.temperature_c != null ? t("disks.temperature", { c: x.temperature_c }) : null,
    x.power_on_hours != null ? t("disks.hours", { n: x.power_on_hours.toLocaleString() }) : null, test].filter(Boolean).join(" · ");
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
