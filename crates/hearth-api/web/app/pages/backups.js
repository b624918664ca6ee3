// Backups. For admins, this box's own backups: the recovery key (made once, printable), where
// backups go (a USB disk, another Hearth, S3, a REST server), the jobs with their progress and
// history, the last verified restore of each place, alerts, and a restore browser. For everyone,
// the backups their computers keep on this box (restic at /restic/<user>/<name>/).
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { t, bytes, duration, ago } from "/app/text.js";

const BUSY_MS = 2000, IDLE_MS = 30000;

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  const list = h("div", { id: "hosted", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const usage = h("div", { id: "hosted-usage" });
  const own = h("div", { id: "box-backups" });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("backups.page_title"))),
    admin ? own : null,
    h("section", { class: "card" }, h("h2", {}, t("backups.computers")), usage, list),
    h("section", { class: "card" }, h("h2", {}, t("backups.how")),
      h("p", {}, t("backups.how_lead")),
      h("p", { class: "secret", id: "hosted-address" }, ""),
      h("p", {}, h("a", { href: "#/family" }, t("backups.make_password")))));

  let gone = false, timer = 0;
  const view = { browsing: null };
  async function refresh() {
    clearTimeout(timer);
    let o;
    try { o = await api("GET", "/api/v1/backups"); } catch (e) { if (!gone) own.replaceChildren(h("p", { class: "error" }, e.text || String(e))); return; }
    if (gone) return;
    showOwn(o);
    const busy = o.jobs.some((j) => j.current) || o.targets.some((tg) => tg.current);
    timer = setTimeout(refresh, busy ? BUSY_MS : IDLE_MS);
  }

  function showOwn(o) {
    // Forms being filled in are kept; only the live parts are drawn again.
    const keep = (id) => own.querySelector(`#${id}`);
    const addTarget = keep("add-target") || targetForm(refresh);
    const addJob = keep("add-job") || jobForm(refresh);
    const browser = keep("restore-browser") || h("section", { class: "card", id: "restore-browser", hidden: true });
    jobTargetOptions(addJob, o.targets);
    // replaceChildren would show a null as the text "null".
    own.replaceChildren(...[
      alerts(o.alerts),
      o.password ? null : keySetup(refresh),
      h("section", { class: "card", id: "backup-jobs" }, h("h2", {}, t("backups.jobs")),
        o.jobs.length ? h("ul", { class: "plain-list jobs" }, o.jobs.map((j) => jobItem(j, o.targets, refresh, app))) : h("p", { class: "empty" }, t("backups.no_jobs")),
        o.password && o.targets.length ? addJob : null),
      h("section", { class: "card", id: "backup-targets" }, h("h2", {}, t("backups.targets")),
        o.targets.length ? h("ul", { class: "plain-list targets" }, o.targets.map((tg) => targetItem(tg, refresh, app, () => browse(browser, tg)))) : h("p", { class: "empty" }, t("backups.no_targets")),
        o.password ? addTarget : null),
      browser].filter(Boolean));
  }

  if (admin) refresh();
  hosted(list, usage, main, app);
  return { leave() { gone = true; clearTimeout(timer); } };
}

function alerts(list) {
  if (!list.length) return null;
  return h("section", { class: "card alerts", role: "alert", id: "backup-alerts" },
    h("h2", {}, t("backups.attention")),
    h("ul", { class: "plain-list" }, list.map((a) => h("li", { "data-alert": a.kind, class: "error" }, a.message))));
}

// The recovery key: made once and shown once, with a way to print it. Or a password the owner
// chooses.
function keySetup(done) {
  const error = h("p", { class: "error", role: "alert" });
  const shown = h("div", { id: "recovery-key-shown" });
  const own = h("form", { class: "inline-form", id: "choose-password", novalidate: true },
    ...field("backup-password", t("backups.own_password"), { type: "password", autocomplete: "new-password", minlength: "12" }),
    h("button", { type: "submit" }, t("backups.use_password")));
  const card = h("section", { class: "card", id: "key-setup" },
    h("h2", {}, t("backups.set_up")),
    h("p", {}, t("backups.key_lead")),
    h("button", { type: "button", class: "primary", id: "make-key", onclick: () => make(null) }, t("backups.make_key")),
    h("details", {}, h("summary", {}, t("backups.or_password")), own),
    error, shown);
  own.addEventListener("submit", (ev) => { ev.preventDefault(); make(own.querySelector("#backup-password").value); });
  async function make(password) {
    error.textContent = "";
    let r;
    try { r = await api("POST", "/api/v1/backups/password", password == null ? {} : { password }); } catch (e) { error.textContent = e.text; return; }
    if (!r.recovery_key) { done(); return; }
    // Shown once: the family writes it down or prints it before going on.
    const ok = h("input", { type: "checkbox", id: "key-kept" });
    const next = h("button", { type: "button", class: "primary", disabled: true, onclick: done }, t("backups.key_continue"));
    ok.addEventListener("change", () => { next.disabled = !ok.checked; });
    card.replaceChildren(
      h("h2", {}, t("backups.key_title")),
      h("div", { class: "secret-box printable", id: "recovery-key" },
        h("p", {}, t("backups.key_for", { name: location.host })),
        h("p", { class: "secret recovery-key" }, r.recovery_key),
        h("p", { class: "small" }, t("backups.key_warning"))),
      h("p", {}, h("button", { type: "button", onclick: () => window.print() }, t("backups.print"))),
      h("p", {}, h("label", { class: "check", for: "key-kept" }, ok, " ", t("backups.key_kept"))),
      next);
  }
  return card;
}

function runLine(run) {
  if (!run) return "";
  const when = run.ended_at || run.started_at || run.queued_at;
  return t("backups.run_line", { state: t(`backups.state.${run.state}`), when: ago(when), message: run.message || "" });
}

function progress(run) {
  if (!run) return null;
  if (run.state === "queued") return h("p", { class: "muted run-progress" }, t("backups.waiting"));
  const total = run.bytes_total || 0;
  return h("div", { class: "run-progress" },
    h("progress", { max: total || 1, value: Math.min(run.bytes_done, total || 0), "aria-label": t("backups.progress") }),
    h("p", { class: "muted small" }, t("backups.progress_line", {
      files: run.files_done, files_total: run.files_total ?? "…", done: bytes(run.bytes_done), total: total ? bytes(total) : "…",
      rate: run.rate_bytes_per_second ? `${bytes(run.rate_bytes_per_second)}/s` : "", eta: run.eta_seconds != null ? duration(run.eta_seconds) : "…",
    })));
}

function jobItem(j, targets, refresh, app) {
  const target = targets.find((x) => x.id === j.target_id);
  const act = async (method, path, body) => {
    try { await api(method, path, body); refresh(); } catch (e) { app.toast(e.text); }
  };
  return h("li", { "data-job": j.id, "data-state": j.current ? j.current.state : (j.last ? j.last.state : "none") },
    h("div", { class: "grow" },
      h("strong", {}, h("bdi", {}, j.name)), " → ", h("bdi", {}, target ? target.name : "?"),
      h("p", { class: "muted small" }, t("backups.job_line", {
        schedule: scheduleText(j.schedule), next: j.enabled && j.next_run_at ? ago(j.next_run_at) : t("backups.not_planned"),
        keep: keepText(j.keep),
      })),
      j.current ? progress(j.current) : null,
      j.last ? h("p", { class: `small last-run ${j.last.state}` }, runLine(j.last)) : h("p", { class: "muted small" }, t("backups.never_ran"))),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "small", disabled: !!j.current, onclick: () => act("POST", `/api/v1/backups/jobs/${j.id}/run`) }, t("backups.run_now")),
      h("button", { type: "button", class: "small", onclick: () => act("PATCH", `/api/v1/backups/jobs/${j.id}`, { enabled: !j.enabled }) }, j.enabled ? t("backups.pause") : t("backups.resume")),
      h("button", { type: "button", class: "small danger", onclick: () => { if (confirm(t("backups.remove_job_confirm", { name: j.name }))) act("DELETE", `/api/v1/backups/jobs/${j.id}`); } }, t("backups.remove"))));
}

function scheduleText(s) {
  const [kind, a, b] = s.split(" ");
  if (kind === "daily") return t("backups.every_day", { time: a });
  if (kind === "weekly") return t("backups.every_week", { day: t(`day.${a}`), time: b });
  return t(`backups.schedule.${kind}`);
}

function keepText(k) {
  const parts = [];
  for (const p of ["last", "daily", "weekly", "monthly", "yearly"]) if (k && k[p]) parts.push(t(`backups.keep.${p}`, { n: k[p] }));
  return parts.join(", ");
}

function targetItem(tg, refresh, app, onBrowse) {
  const d = tg.last_drill;
  let verified;
  if (!d) verified = t("backups.not_verified", { when: tg.drill_next_at ? ago(tg.drill_next_at) : "" });
  else if (d.state === "failed") verified = t("backups.drill_failed", { when: ago(d.ended_at), message: d.message || "" });
  else if (d.detail && d.detail.files) verified = t("backups.drill_ok", { when: ago(d.ended_at), n: d.detail.files, message: d.message || "" });
  else verified = d.message || "";
  const act = async (path) => { try { await api("POST", path); refresh(); } catch (e) { app.toast(e.text); } };
  if (tg.current && tg.current.kind !== "restore") verified = t(`backups.${tg.current.kind}_running`);
  return h("li", { "data-target": tg.id, "data-state": tg.current ? tg.current.state : (d ? d.state : "none") },
    h("div", { class: "grow" },
      h("strong", {}, h("bdi", {}, tg.name)), " ", h("span", { class: "muted" }, t(`backups.kind.${tg.kind}`)),
      h("p", { class: "muted small" }, h("bdi", {}, tg.location)),
      h("p", { class: `small last-drill ${d ? d.state : "none"}` }, verified)),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "small", disabled: !!tg.current, onclick: () => act(`/api/v1/backups/targets/${tg.id}/drill`) }, t("backups.verify_now")),
      h("button", { type: "button", class: "small", onclick: onBrowse }, t("backups.browse")),
      h("button", { type: "button", class: "small danger", onclick: async () => {
        if (!confirm(t("backups.remove_target_confirm", { name: tg.name }))) return;
        try { await api("DELETE", `/api/v1/backups/targets/${tg.id}`); refresh(); } catch (e) { app.toast(e.text); }
      } }, t("backups.remove"))));
}

// The inputs that describe a place for backups, by kind (used here and by the claim page's
// "restore this box"): `body()` gives `{target, secret}`.
export function targetInputs(error, result, certificatePath = "/api/v1/backups/certificate", extra = () => ({})) {
  const kind = h("select", { id: "target-kind" }, ["folder", "hearth", "s3", "rest"].map((k) => h("option", { value: k }, t(`backups.kind.${k}`))));
  const fields = h("div", { id: "target-fields" });
  const v = (id) => (fields.querySelector(`#${id}`) || {}).value?.trim() || "";
  const raw = (id) => (fields.querySelector(`#${id}`) || {}).value || "";
  async function fetchCert() {
    error.textContent = "";
    try {
      const r = await api("POST", certificatePath, { address: v("t-address"), ...extra() });
      fields.querySelector("#t-cert").value = r.cert_sha256;
      result.textContent = t("backups.cert_compare");
    } catch (e) { error.textContent = e.text; }
  }
  function draw() {
    const parts = {
      folder: () => [...field("t-path", t("backups.folder_path"), { placeholder: "/media/usb/hearth-backup", spellcheck: "false" })],
      hearth: () => [
        ...field("t-address", t("backups.hearth_address"), { placeholder: "https://grandma.local", inputmode: "url", spellcheck: "false" }),
        h("p", {}, h("button", { type: "button", id: "t-fetch-cert", class: "small", onclick: fetchCert }, t("backups.fetch_cert"))),
        ...field("t-cert", t("backups.hearth_cert"), { spellcheck: "false", autocomplete: "off" }),
        h("p", { class: "muted small" }, t("backups.hearth_cert_help")),
        ...field("t-user", t("backups.hearth_user"), { autocomplete: "off" }),
        ...field("t-repository", t("backups.hearth_repository"), { value: "hearth-backup", autocomplete: "off" }),
        ...field("t-password", t("backups.hearth_password"), { type: "password", autocomplete: "off" })],
      s3: () => [
        ...field("t-endpoint", t("backups.s3_endpoint"), { placeholder: "https://s3.example.com", inputmode: "url", spellcheck: "false" }),
        ...field("t-bucket", t("backups.s3_bucket"), { autocomplete: "off" }),
        ...field("t-prefix", t("backups.s3_prefix"), { autocomplete: "off" }),
        ...field("t-region", t("backups.s3_region"), { value: "us-east-1" }),
        ...field("t-key", t("backups.s3_key"), { autocomplete: "off" }),
        ...field("t-secret", t("backups.s3_secret"), { type: "password", autocomplete: "off" })],
      rest: () => [
        ...field("t-url", t("backups.rest_url"), { placeholder: "https://backup.example.com:8000/hearth", inputmode: "url", spellcheck: "false" }),
        ...field("t-user", t("backups.rest_user"), { autocomplete: "off" }),
        ...field("t-password", t("backups.rest_password"), { type: "password", autocomplete: "off" })],
    };
    fields.replaceChildren(...parts[kind.value]());
  }
  function body() {
    const k = kind.value;
    const target = { kind: k };
    const secret = {};
    if (k === "folder") target.path = v("t-path");
    if (k === "hearth") Object.assign(target, { address: v("t-address"), user: v("t-user"), repository: v("t-repository"), cert_sha256: v("t-cert") });
    if ((k === "hearth" || k === "rest") && raw("t-password")) secret.password = raw("t-password");
    if (k === "rest") { target.url = v("t-url"); if (v("t-user")) target.user = v("t-user"); }
    if (k === "s3") { Object.assign(target, { endpoint: v("t-endpoint"), bucket: v("t-bucket"), prefix: v("t-prefix"), region: v("t-region") || "us-east-1", access_key_id: v("t-key") }); secret.secret_access_key = raw("t-secret"); }
    return { target, secret };
  }
  kind.addEventListener("change", () => { result.textContent = ""; error.textContent = ""; draw(); });
  draw();
  return { kind, fields, body, draw };
}

// Adding a place for backups: the fields of its kind, a connection test, then save (which makes
// the repository). Another Hearth's certificate is fetched first and shown to compare with that
// box's Box page.
function targetForm(done) {
  const form = h("form", { class: "inline-form", id: "add-target", novalidate: true });
  const result = h("p", { class: "muted", id: "target-result", "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert" });
  const inputs = targetInputs(error, result);
  form.append(h("h3", {}, t("backups.add_target")),
    ...field("target-name", t("backups.target_name"), { required: true, maxlength: "64", autocomplete: "off" }),
    h("label", { for: "target-kind" }, t("backups.target_kind")), inputs.kind, inputs.fields,
    h("p", {}, h("button", { type: "button", id: "target-test" }, t("backups.test")), " ", h("button", { type: "submit", class: "primary" }, t("backups.save_target"))),
    result, error);
  const body = () => ({ name: form.querySelector("#target-name").value.trim(), ...inputs.body() });
  form.querySelector("#target-test").addEventListener("click", async () => {
    error.textContent = ""; result.textContent = t("backups.testing");
    try {
      const r = await api("POST", "/api/v1/backups/targets/test", body());
      result.textContent = t(`backups.test_${r.repository}`, { where: r.location });
    } catch (e) { result.textContent = ""; error.textContent = e.text; }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = ""; result.textContent = t("backups.testing");
    try {
      const r = await api("POST", "/api/v1/backups/targets", body());
      result.textContent = t(`backups.saved_${r.repository}`);
      form.reset(); inputs.draw(); done();
    } catch (e) { result.textContent = ""; error.textContent = e.text; }
  });
  return form;
}

function jobForm(done) {
  const form = h("form", { class: "inline-form", id: "add-job", novalidate: true });
  const error = h("p", { class: "error", role: "alert" });
  const when = h("select", { id: "job-when" }, ["daily", "weekly", "hourly", "manual"].map((k) => h("option", { value: k }, t(`backups.schedule.${k}`))));
  const day = h("select", { id: "job-day", hidden: true }, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].map((d) => h("option", { value: d }, t(`day.${d}`))));
  form.append(h("h3", {}, t("backups.add_job")),
    ...field("job-name", t("backups.job_name"), { value: t("backups.job_default_name"), maxlength: "64" }),
    h("label", { for: "job-target" }, t("backups.job_target")), h("select", { id: "job-target" }),
    h("label", { for: "job-when" }, t("backups.job_when")), when, " ", day,
    ...field("job-time", t("backups.job_time"), { type: "time", value: "03:00" }),
    h("p", { class: "muted small" }, t("backups.job_defaults")),
    h("button", { type: "submit", class: "primary" }, t("backups.save_job")), error);
  when.addEventListener("change", () => {
    day.hidden = when.value !== "weekly";
    form.querySelector("#job-time").disabled = when.value === "hourly" || when.value === "manual";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const time = form.querySelector("#job-time").value || "03:00";
    const schedule = { daily: `daily ${time}`, weekly: `weekly ${day.value} ${time}`, hourly: "hourly", manual: "manual" }[when.value];
    try {
      await api("POST", "/api/v1/backups/jobs", { name: form.querySelector("#job-name").value, target_id: Number(form.querySelector("#job-target").value), schedule });
      done();
    } catch (e) { error.textContent = e.text; }
  });
  return form;
}

function jobTargetOptions(form, targets) {
  const sel = form.querySelector("#job-target");
  const chosen = sel.value;
  sel.replaceChildren(...targets.map((tg) => h("option", { value: String(tg.id) }, tg.name)));
  if (chosen) sel.value = chosen;
}

// Snapshots of a place, then its folders one level at a time; a file or folder goes back in
// place (what is there now is kept beside it) or into a new folder.
async function browse(card, tg) {
  card.hidden = false;
  card.replaceChildren(h("h2", {}, t("backups.restore_from", { name: tg.name })), h("p", { class: "muted" }, t("loading")));
  card.scrollIntoView({ behavior: "smooth", block: "start" });
  let snaps;
  try { snaps = (await api("GET", `/api/v1/backups/targets/${tg.id}/snapshots`)).snapshots; } catch (e) { card.append(h("p", { class: "error" }, e.text)); return; }
  if (!snaps.length) { card.replaceChildren(h("h2", {}, t("backups.restore_from", { name: tg.name })), h("p", { class: "empty" }, t("backups.no_snapshots"))); return; }
  const pick = h("select", { id: "snapshot-pick" }, snaps.map((s) => h("option", { value: s.name }, `${new Date(s.time).toLocaleString()} · ${s.host}`)));
  const listing = h("div", { id: "snapshot-entries", "aria-live": "polite" });
  const status = h("p", { class: "muted", id: "restore-status", role: "status" });
  card.replaceChildren(h("h2", {}, t("backups.restore_from", { name: tg.name })),
    h("label", { for: "snapshot-pick" }, t("backups.snapshot")), pick, listing, status);
  async function open(path) {
    listing.replaceChildren(h("p", { class: "muted" }, t("loading")));
    let entries;
    const q = path ? `?path=${encodeURIComponent(path)}` : "";
    try { entries = (await api("GET", `/api/v1/backups/targets/${tg.id}/snapshots/${pick.value}/entries${q}`)).entries; } catch (e) { listing.replaceChildren(h("p", { class: "error" }, e.text)); return; }
    const up = path && path.split("/").filter(Boolean).length > 0 ? path.split("/").slice(0, -1).join("/") : null;
    listing.replaceChildren(
      h("p", { class: "crumbs" }, h("bdi", {}, path || "/"), " ",
        up !== null ? h("button", { type: "button", class: "small", onclick: () => open(up) }, t("backups.up")) : null,
        path ? h("button", { type: "button", class: "small", onclick: () => restore(path, "new_folder") }, t("backups.restore_folder_new")) : null),
      h("ul", { class: "plain-list entries" }, entries.map((e) => h("li", { "data-entry": e.name },
        e.kind === "folder" ? h("button", { type: "button", class: "link", onclick: () => open(e.path) }, "📁 ", h("bdi", {}, e.name)) : h("span", { class: "grow" }, h("bdi", {}, e.name), " ", h("span", { class: "muted small" }, bytes(e.size))),
        h("span", { class: "actions" },
          h("button", { type: "button", class: "small", onclick: () => restore(e.path, "in_place") }, t("backups.restore_in_place")),
          h("button", { type: "button", class: "small", onclick: () => restore(e.path, "new_folder") }, t("backups.restore_new")))))));
  }
  async function restore(path, destination) {
    status.textContent = t("backups.restoring");
    try {
      const r = await api("POST", `/api/v1/backups/targets/${tg.id}/restore`, { snapshot: pick.value, path, destination });
      follow(r.run_id);
    } catch (e) { status.textContent = e.text; }
  }
  async function follow(id) {
    let run;
    try { run = await api("GET", `/api/v1/backups/runs/${id}`); } catch (e) { status.textContent = e.text; return; }
    if (run.state === "queued" || run.state === "running") { setTimeout(() => follow(id), 1000); return; }
    status.textContent = `${t(`backups.state.${run.state}`)}: ${run.message || ""}`;
  }
  pick.addEventListener("change", () => open(""));
  open("");
}

async function hosted(list, usage, main, app) {
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
      last: r.last_snapshot_at ? ago(r.last_snapshot_at) : t("backups.never"),
    }))))));
}
