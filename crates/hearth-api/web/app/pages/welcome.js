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
  if (route.page === "welcome" && app.setup && !app.setup.claimed) main.append(claimForm(app, () => done("#/start")));
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
