// Letting an app in (#/login-flow/TOKEN): the page a Nextcloud app (Android, iOS, the desktop
// client) opens when the family member adds the box; once they allow it here, signed in as
// themselves, the app receives an app password of their own account (docs/files.md, "Login
// Flow v2") and this page says to go back to it.
import { h } from "/app/dom.js";
import { api } from "/app/api.js";
import { t } from "/app/text.js";

export function render(main, route, app) {
  const token = route.parts[0] || "";
  const card = h("section", { class: "card narrow", id: "login-flow" }, h("h1", {}, t("login_flow.title")), h("p", { class: "muted" }, t("loading")));
  main.append(card);
  const say = (...children) => card.replaceChildren(h("h1", {}, t("login_flow.title")), ...children);

  async function load() {
    let flow;
    try {
      flow = await api("GET", `/api/v1/login-flows/${encodeURIComponent(token)}`);
    } catch (e) {
      say(h("p", { class: "error", role: "alert" }, e.status === 404 ? t("login_flow.gone") : e.message));
      return;
    }
    if (flow.granted) { say(h("p", { role: "status" }, t("login_flow.done"))); return; }
    const allow = h("button", { type: "button", class: "primary", id: "login-flow-allow" }, t("login_flow.allow"));
    const deny = h("a", { href: "#/files", class: "button quiet-link", id: "login-flow-deny" }, t("login_flow.deny"));
    const problem = h("p", { class: "error", role: "alert", hidden: true });
    allow.addEventListener("click", async () => {
      allow.disabled = true;
      try {
        await api("POST", `/api/v1/login-flows/${encodeURIComponent(token)}/grant`);
        say(h("p", { role: "status", id: "login-flow-granted" }, t("login_flow.done")));
      } catch (e) {
        problem.textContent = e.message;
        problem.hidden = false;
        allow.disabled = false;
      }
    });
    say(
      h("p", {}, t("login_flow.asks", { client: flow.client, name: app.me.display_name || app.me.name })),
      h("p", { class: "muted" }, t("login_flow.what")),
      h("div", { class: "login-flow-actions" }, allow, deny),
      problem);
  }
  load();
}
