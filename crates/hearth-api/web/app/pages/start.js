// Getting started: what a family does once, in order, each step ticked off when the box sees it
// done (a phone paired, someone added, photos arrived), each a link to the page that does it.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  const list = h("ol", { class: "steps", id: "start-steps" });
  main.append(h("section", { class: "card narrow" },
    h("h1", {}, t("start.title")),
    h("p", { class: "muted" }, t("start.lead")),
    list,
    h("p", {}, h("a", { href: "#/photos", class: "button primary" }, t("start.done")))));

  (async () => {
    // Each fact on its own: one that cannot be read leaves its step unticked, not the page empty.
    const ask = (path) => api("GET", path).catch(() => null);
    const [settings, devices, users, months] = await Promise.all([
      ask("/api/v1/box"), ask("/api/v1/sync/devices"), admin ? ask("/api/v1/users") : null, ask("/api/v1/timeline/months"),
    ]);
    const steps = [
      { id: "box", done: !!settings, href: "#/box", detail: settings ? t("start.box_detail", { name: settings.name, zone: settings.time_zone.replaceAll("_", " ") }) : "" },
      { id: "phone", done: (devices?.devices.length ?? 0) > 0, href: "#/devices" },
      admin ? { id: "family", done: (users?.length ?? 0) > 1, href: "#/family" } : null,
      { id: "photos", done: (months?.months.length ?? 0) > 0, href: "#/photos" },
      { id: "apps", done: false, optional: true, href: "#/family" },
    ].filter(Boolean);
    list.replaceChildren(...steps.map((s) => h("li", { class: s.done ? "step done" : "step", "data-step": s.id },
      h("a", { href: s.href }, h("strong", {}, t(`start.${s.id}`))),
      s.done ? h("span", { class: "tick" }, " ✓ ", h("span", { class: "visually-hidden" }, t("start.ticked"))) : null,
      h("p", { class: "muted" }, s.detail || t(`start.${s.id}_lead`)))));
  })();
}
