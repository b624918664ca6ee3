// Claiming the box (the first visit) and logging in.
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { t } from "/app/text.js";

export function render(main, route, app) {
  const next = route.query.get("next") || "#/photos";
  const done = async (where = next) => {
    await app.signedIn();
    app.go(where);
  };
  // A new owner goes on to the getting-started steps.
  if (route.page === "welcome" && app.setup && !app.setup.claimed) main.append(claimForm(app, () => done("#/start")), recoverCard(app));
  else main.append(loginForm(app, done));
  const first = main.querySelector("input");
  if (first) first.focus();
}

function claimForm(app, done) {
  const error = h("p", { class: "error", id: "claim-error", role: "alert" });
  const form = h("form", { id: "claim", class: "card narrow", novalidate: true },
    h("h1", {}, t("claim.title")),
    h("p", { class: "muted" }, t("claim.lead")),
    field("claim-name", t("claim.name"), { autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" }),
    field("claim-display", t("claim.display"), { autocomplete: "name" }),
    field("claim-password", t("claim.password"), { type: "password", autocomplete: "new-password", required: true, minlength: "8" }),
    field("claim-box-name", t("claim.box_name"), { value: t("claim.box_name_default"), maxlength: "63", autocomplete: "off" }),
    h("label", { for: "claim-time-zone" }, t("claim.time_zone")),
    timeZoneSelect("claim-time-zone", browserZone()),
    app.setup.code_required ? h("div", { id: "claim-code-box" }, field("claim-code", t("claim.code"), { autocomplete: "one-time-code", required: true })) : null,
    h("button", { type: "submit", class: "primary" }, t("claim.submit")),
    error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { name: form.querySelector("#claim-name").value.trim(), password: form.querySelector("#claim-password").value };
    const display = form.querySelector("#claim-display").value.trim();
    if (display) body.display_name = display;
    const boxName = form.querySelector("#claim-box-name").value.trim();
    if (boxName) body.box_name = boxName;
    body.time_zone = form.querySelector("#claim-time-zone").value;
    const code = form.querySelector("#claim-code");
    if (code) body.setup_code = code.value.trim();
    error.textContent = "";
    try {
      await api("POST", "/api/v1/setup/claim", body, { quietAuth: true });
      app.setup.claimed = true;
      await done();
    } catch (e) {
      error.textContent = e.text;
    }
  });
  return form;
}

// A new box becomes a lost one again: the place its backups are and the recovery key; the
// restore runs on the box, and the box restarts as the old one (log in with the old names).
function recoverCard(app) {
  const box = h("div", { id: "recover-form" });
  const status = h("p", { id: "recover-status", role: "status", "aria-live": "polite" });
  const card = h("details", { class: "card narrow", id: "recover" },
    h("summary", {}, h("strong", {}, t("recover.title"))), h("p", { class: "muted" }, t("recover.lead")), box, status);
  let built = false;
  card.addEventListener("toggle", async () => {
    if (!card.open || built) return;
    built = true;
    const { targetInputs } = await import("/app/pages/backups.js");
    const error = h("p", { class: "error", role: "alert" });
    const code = () => { const c = card.querySelector("#recover-code"); return c ? { setup_code: c.value.trim() } : {}; };
    const inputs = targetInputs(error, status, "/api/v1/setup/certificate", code);
    const form = h("form", { novalidate: true },
      h("label", { for: "target-kind" }, t("recover.where")), inputs.kind, inputs.fields,
      ...field("recover-key", t("recover.key"), { autocomplete: "off", spellcheck: "false", autocapitalize: "characters" }),
      app.setup.code_required ? field("recover-code", t("claim.code"), { autocomplete: "one-time-code" }) : [],
      h("button", { type: "submit", class: "primary" }, t("recover.submit")), error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      try {
        const r = await api("POST", "/api/v1/setup/recover", { ...inputs.body(), recovery_key: form.querySelector("#recover-key").value, ...code() }, { quietAuth: true });
        status.textContent = t("recover.state.restoring", { message: r.message });
        form.hidden = true;
        // Nobody claims a box that is becoming another one.
        const claim = document.querySelector("#claim");
        if (claim) claim.hidden = true;
        follow();
      } catch (e) { error.textContent = e.text; }
    });
    box.replaceChildren(form);
  });
  async function follow() {
    let r;
    try { r = await api("GET", "/api/v1/setup/recover", undefined, { quietAuth: true }); } catch (_) {
      // The box is restarting: wait for it, then log in as before.
      return waitForRestart();
    }
    status.textContent = t(`recover.state.${r.state}`, { message: r.message });
    if (r.state === "restoring") { setTimeout(follow, 2000); return; }
    if (r.state === "failed") {
      box.querySelector("form").hidden = false;
      const claim = document.querySelector("#claim");
      if (claim) claim.hidden = false;
      return;
    }
    if (r.state === "ready") setTimeout(waitForRestart, 2000);
  }
  async function waitForRestart() {
    try {
      const s = await api("GET", "/api/v1/setup", undefined, { quietAuth: true });
      if (s.claimed) { status.textContent = t("recover.done"); setTimeout(() => location.replace("#/login"), 1500); return; }
    } catch (_) { /* still restarting */ }
    setTimeout(waitForRestart, 2000);
  }
  return card;
}

function loginForm(app, done) {
  const error = h("p", { class: "error", id: "login-error", role: "alert" });
  const form = h("form", { id: "login", class: "card narrow" },
    h("h1", {}, t("login.title")),
    app.sessionEnded ? h("p", { class: "notice", role: "status" }, t("login.expired")) : null,
    field("login-name", t("login.name"), { autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" }),
    field("login-password", t("login.password"), { type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "primary" }, t("login.submit")),
    error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      await api("POST", "/api/v1/auth/login", { name: form.querySelector("#login-name").value.trim(), password: form.querySelector("#login-password").value }, { quietAuth: true });
      app.sessionEnded = false;
      await done();
    } catch (e) {
      error.textContent = e.text;
    }
  });
  return form;
}

// The zone this browser is in: a family sets up the box from home.
export function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (_) { return "UTC"; }
}

// Every zone the browser knows, by name; the box checks the choice against its own database.
export function timeZoneSelect(id, chosen) {
  let zones = [];
  try { zones = Intl.supportedValuesOf("timeZone"); } catch (_) { /* older browsers: the chosen one and UTC */ }
  const all = [...new Set(["UTC", chosen, ...zones])].filter(Boolean).sort((a, b) => (a === "UTC" ? -1 : b === "UTC" ? 1 : a.localeCompare(b)));
  return h("select", { id, name: id }, all.map((z) => h("option", { value: z, selected: z === chosen }, z.replaceAll("_", " "))));
}
