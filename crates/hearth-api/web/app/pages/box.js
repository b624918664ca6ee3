// The box: what it is, its disk and memory, its services, and the long jobs it is working on
// (with progress and time left), live while the page is open.
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { t, bytes, duration, ago } from "/app/text.js";
import { timeZoneSelect } from "/app/pages/welcome.js";

const EVERY_MS = 10000;

export function render(main, route, app) {
  const device = h("p", { class: "muted", id: "device-line" });
  const fingerprint = h("p", { class: "fingerprint", id: "fingerprint", hidden: true });
  const space = h("div", { id: "space" });
  const memory = h("p", { class: "muted", id: "memory" });
  const verified = h("p", { id: "last-verified" });
  const diskHealth = h("div", { id: "disk-health" });
  const admin = app.me.role === "owner" || app.me.role === "admin";
  const services = h("tbody", { id: "services" });
  const jobs = h("div", { id: "jobs", "aria-live": "polite" });
  const analysis = h("div", { id: "ml-status" });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("box.title"))),
    h("section", { class: "card" }, device, fingerprint, h("h2", {}, t("box.space")), space, diskHealth, memory, verified),
    admin ? settingsForm(app) : null,
    h("section", { class: "card" }, h("h2", {}, t("box.activity")), jobs, analysis),
    h("section", { class: "card" }, h("h2", {}, t("box.services")),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("box.service")), h("th", { scope: "col" }, t("box.state")), h("th", { scope: "col" }, t("box.restarts")))), services)),
    h("p", {}, h("a", { href: "#/start" }, t("box.start")), " · ", h("a", { href: "#/backups" }, t("box.backups")), " · ",
      h("a", { href: "#/updates" }, t("box.updates")), " · ", h("a", { href: "#/disks" }, t("box.disks")), " · ",
      h("a", { href: "#/about" }, t("box.about"))));

  // Jobs and services arrive as they change (server-sent events); disk and memory are asked for
  // now and then.
  let timer = 0, gone = false;
  const events = new EventSource("/api/v1/events");
  events.addEventListener("activity", (e) => {
    const d = JSON.parse(e.data);
    showJobs(d.jobs, d.backups || []);
    showAnalysis(d.ml);
    showServices(d.services);
  });
  // A stream refused (the session ended) closes for good: let the app find out why.
  events.addEventListener("error", () => { if (events.readyState === EventSource.CLOSED) api("GET", "/api/v1/me").catch(() => {}); });

  // A disk whose own health check warns or fails, said where the admins look first.
  // So is a pool with a disk missing, or a scrub that found blocks it could not repair.
  function showDiskHealth(inventory) {
    if (gone) return;
    const bad = inventory.disks.filter((d) => d.health && (d.health.verdict === "warning" || d.health.verdict === "failing"));
    const pool = inventory.pool;
    const alert = (text) => h("p", { class: "error disk-alert pool-alert", role: "alert" }, h("a", { href: "#/disks" }, text));
    diskHealth.replaceChildren(...[...bad.map((d) => h("p", { class: `${d.health.verdict === "failing" ? "error" : "warning"} disk-alert`, role: "alert" },
      h("a", { href: "#/disks" }, t(`box.disk_${d.health.verdict}`, {
        disk: [d.vendor, d.model].filter(Boolean).join(" ") || d.name, why: d.health.reasons.join("; ") })))),
      pool && pool.state === "degraded" ? alert(t("box.pool_degraded")) : null,
      pool && pool.last_scrub && pool.last_scrub.uncorrectable ? alert(t("box.scrub_uncorrectable", { n: pool.last_scrub.uncorrectable })) : null].filter(Boolean));
  }

  function showServices(list) {
    services.replaceChildren(...list.map((s) => h("tr", {},
      h("td", {}, s.name),
      h("td", { class: s.state }, t(`state.${s.state}`)),
      h("td", {}, String(s.restarts)))));
  }

  async function refresh() {
    try {
      const st = await api("GET", "/api/v1/status");
      if (gone) return;
      const d = st.device;
      device.textContent = t("box.device", { name: d.name, version: d.version, board: d.board });
      fingerprint.hidden = !d.cert_sha256;
      fingerprint.textContent = d.cert_sha256 ? t("box.fingerprint", { sha: d.cert_sha256 }) : "";
      const used = st.data_total_bytes - st.data_free_bytes;
      space.replaceChildren(
        h("progress", { max: st.data_total_bytes || 1, value: used, "aria-label": t("box.space") }),
        h("p", {}, t("box.space_line", { free: bytes(st.data_free_bytes), total: bytes(st.data_total_bytes) })),
        st.data_fullness === "fine" || !st.data_fullness ? null
          : h("p", { class: `${st.data_fullness === "full" ? "error" : "warning"} space-alert`, role: "alert" },
            t(`box.space_${st.data_fullness}`, { percent: st.data_percent_used })));
      memory.textContent = st.daemon_resident_bytes ? t("box.memory", { used: bytes(st.daemon_resident_bytes) }) : "";
      if (admin) showDiskHealth(await api("GET", "/api/v1/disks"));
      if (!services.childElementCount) showServices(st.services);
      const v = st.last_verified_restore;
      verified.className = v && v.state === "failed" ? "error" : "muted";
      verified.replaceChildren(...(v ? [h("a", { href: "#/backups" }, v.state === "failed"
        ? t("box.drill_failed", { when: ago(v.at), message: v.message || "" })
        : t("box.drill_ok", { when: ago(v.at), n: v.files, message: v.message || "" }))] : []));
    } catch (e) {
      if (!gone) app.toast(e.text || String(e));
    }
    if (!gone) timer = setTimeout(refresh, document.hidden ? EVERY_MS * 5 : EVERY_MS);
  }

  // Where photo analysis runs and what stops it: a board's NPU that is not used says why.
  function showAnalysis(ml) {
    if (!ml) { analysis.replaceChildren(); return; }
    const where = ml.backend === "npu" ? t("box.ml_npu") : t("box.ml_cpu", { n: ml.threads, int8: ml.arithmetic === "int8" });
    analysis.replaceChildren(
      h("p", { class: "muted", id: "ml-backend" }, where),
      ml.npu_problem ? h("p", { class: "warning", id: "ml-npu-problem" }, t("box.ml_npu_problem", { why: ml.npu_problem })) : null,
      ml.problem ? h("p", { class: "error", id: "ml-problem" }, t("box.ml_problem", { why: ml.guidance ? `${ml.problem} — ${ml.guidance}` : ml.problem })) : null);
  }

  function showJobs(list, backups) {
    const busy = list.filter((j) => j.queued + j.running > 0 || j.failed + j.quarantined > 0);
    if (!busy.length && !backups.length) { jobs.replaceChildren(h("p", { class: "muted", id: "jobs-idle" }, t("box.idle"))); return; }
    const runs = backups.map((b) => h("div", { class: "job", "data-kind": `backup-${b.kind}`, "data-state": b.state },
      h("h3", {}, t(`box.backup.${b.kind}`, { name: b.name })),
      b.state === "queued" ? h("p", { class: "muted" }, t("backups.waiting")) : [
        h("progress", { max: b.bytes_total || 1, value: Math.min(b.bytes_done, b.bytes_total || 0), "aria-label": t(`box.backup.${b.kind}`, { name: b.name }) }),
        h("p", { class: "muted" }, t("box.backup_line", { files: b.files_done, total: b.files_total ?? "…", done: bytes(b.bytes_done) }))],
      h("p", {}, h("a", { href: "#/backups" }, t("box.backups")))));
    jobs.replaceChildren(...runs, ...busy.map((j) => {
      const left = j.queued + j.running;
      const all = j.done + left;
      return h("div", { class: "job", "data-kind": j.kind, "data-left": left },
        h("h3", {}, t(`box.job.${j.kind}`)),
        h("progress", { max: all || 1, value: j.done, "aria-label": t(`box.job.${j.kind}`) }),
        h("p", { class: "muted" }, t("box.job_line", { done: j.done, left, failed: j.failed + j.quarantined, eta: j.eta_seconds ? duration(j.eta_seconds) : "" })));
    }));
  }

  refresh();
  return { leave() { gone = true; clearTimeout(timer); events.close(); } };
}

// The box's name, time zone and map tiles, for admins.
function settingsForm(app) {
  const form = h("form", { class: "card", id: "box-settings", novalidate: true }, h("h2", {}, t("box.settings")), h("p", { class: "muted" }, t("loading")));
  api("GET", "/api/v1/box").then((s) => {
    const error = h("p", { class: "error", role: "alert" });
    form.replaceChildren(h("h2", {}, t("box.settings")),
      ...field("box-name", t("box.name"), { value: s.name, maxlength: "63", required: true, autocomplete: "off" }),
      h("label", { for: "box-time-zone" }, t("box.time_zone")),
      timeZoneSelect("box-time-zone", s.time_zone),
      ...field("box-map-tiles", t("box.map_tiles"), { value: s.map_tiles || "", type: "text", inputmode: "url", placeholder: "https://tile.example.org/{z}/{x}/{y}.png", spellcheck: "false", autocomplete: "off" }),
      h("p", { class: "muted small" }, t("box.map_tiles_help")),
      h("button", { type: "submit", class: "primary" }, t("box.save")),
      error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      try {
        await api("PATCH", "/api/v1/box", {
          name: form.querySelector("#box-name").value,
          time_zone: form.querySelector("#box-time-zone").value,
          map_tiles: form.querySelector("#box-map-tiles").value.trim(),
        });
        app.toast(t("box.saved"));
      } catch (e) { error.textContent = e.text; }
    });
  }).catch((e) => form.replaceChildren(h("h2", {}, t("box.settings")), h("p", { class: "error" }, e.text || String(e))));
  return form;
}
