// Updates of the box's system (docs/updates.md): what runs and what the other slot holds, an
// install with its progress (from the update channel, or a bundle file), the restart into it,
// going back to the previous version, and what happened before. For admins.
import { api, send } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { t, bytes, ago } from "/app/text.js";

const BUSY_MS = 1000, IDLE_MS = 15000;

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("updates.title"))));
  if (!admin) { main.append(h("p", { class: "muted" }, t("updates.admins_only"))); return {}; }
  const system = h("section", { class: "card", id: "update-system", "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const install = h("section", { class: "card", id: "update-install", "aria-live": "polite", hidden: true });
  const channel = channelCard(() => refresh());
  const upload = uploadCard(() => refresh());
  const history = h("section", { class: "card", id: "update-history" }, h("h2", {}, t("updates.history")));
  main.append(system, install, channel.card, upload, history);

  let gone = false, timer = 0;
  async function refresh() {
    clearTimeout(timer);
    let s;
    try { s = await api("GET", "/api/v1/updates"); } catch (e) { if (!gone) system.replaceChildren(h("p", { class: "error" }, e.text || String(e))); return; }
    if (gone) return;
    showSystem(system, s, refresh);
    showInstall(install, s, refresh);
    channel.show(s);
    upload.hidden = !s.available;
    showHistory(history, s.history);
    timer = setTimeout(refresh, s.install && s.install.state === "running" ? BUSY_MS : IDLE_MS);
  }
  refresh();
  return { leave() { gone = true; clearTimeout(timer); } };
}

function showSystem(card, s, refresh) {
  if (!s.available) {
    card.replaceChildren(h("h2", {}, t("updates.system")), h("p", {}, t("updates.unavailable")));
    return;
  }
  const error = h("p", { class: "error", role: "alert" });
  const last = s.last;
  const trouble = last && (last.kind === "rolled_back" || last.kind === "gate_failed")
    ? h("p", { class: "error", role: "alert", id: "update-trouble" }, t(`updates.event.${last.kind}`, { version: last.version || "?" }), last.reason ? ` ${last.reason}` : "")
    : null;
  // replaceChildren would show a null as the text "null".
  card.replaceChildren(...[
    h("h2", {}, t("updates.system")),
    trouble,
    h("p", { id: "running-version" }, t("updates.running", { version: s.running.version, slot: s.running.slot })),
    s.on_trial ? h("p", { class: "notice", id: "on-trial" }, t("updates.on_trial", { tries: s.tries })) : null,
    h("p", { class: "muted", id: "other-version" }, s.other.version
      ? t("updates.other", { version: s.other.version, slot: s.other.slot })
      : t("updates.other_none", { slot: s.other.slot })),
    s.can_go_back ? h("p", {}, h("button", { type: "button", id: "go-back", onclick: async () => {
      if (!confirm(t("updates.go_back_confirm", { version: s.other.version }))) return;
      try { await api("POST", "/api/v1/updates/go-back"); card.replaceChildren(h("h2", {}, t("updates.system")), h("p", { id: "restarting" }, t("updates.restarting"))); } catch (e) { error.textContent = e.text; }
    } }, t("updates.go_back", { version: s.other.version }))) : null,
    error].filter(Boolean));
}

function showInstall(card, s, refresh) {
  const i = s.install;
  if (!i) { card.hidden = true; return; }
  card.hidden = false;
  const version = i.version || "…";
  const error = h("p", { class: "error", role: "alert" });
  if (i.state === "running") {
    const p = i.progress || { phase: "checking", done: 0, total: 0 };
    card.replaceChildren(
      h("h2", {}, t("updates.installing", { version })),
      h("progress", { id: "install-progress", max: p.total || 1, value: Math.min(p.done, p.total || 0), "aria-label": t(`updates.phase.${p.phase}`) }),
      h("p", { class: "muted small", id: "install-phase", "data-phase": p.phase },
        t(`updates.phase.${p.phase}`), p.total ? ` · ${bytes(p.done)} / ${bytes(p.total)}` : "",
        i.source !== "upload" && p.to_fetch ? ` · ${t("updates.downloaded", { fetched: bytes(p.fetched), of: bytes(p.to_fetch) })}` : ""),
      h("button", { type: "button", id: "cancel-install", onclick: async () => {
        try { await api("POST", "/api/v1/updates/cancel"); refresh(); } catch (e) { error.textContent = e.text; }
      } }, t("updates.cancel")),
      error);
    return;
  }
  if (i.state === "ready" && s.next_boot === s.other.slot) {
    card.replaceChildren(...[
      h("h2", {}, t("updates.ready_title", { version })),
      h("p", { id: "install-ready" }, t("updates.ready", { version })),
      i.source !== "upload" && i.bundle_len ? h("p", { class: "muted small", id: "install-fetched" }, t("updates.fetched", { fetched: bytes(i.fetched), of: bytes(i.bundle_len) })) : null,
      h("button", { type: "button", class: "primary", id: "restart-now", onclick: async () => {
        try { await api("POST", "/api/v1/system/reboot", {}); card.replaceChildren(h("p", { id: "restarting" }, t("updates.restarting"))); } catch (e) { error.textContent = e.text; }
      } }, t("updates.restart")),
      error].filter(Boolean));
    return;
  }
  if (i.state === "refused" || i.state === "failed" || i.state === "cancelled") {
    card.replaceChildren(...[
      h("h2", {}, t(`updates.install_${i.state}`)),
      h("p", { class: i.state === "cancelled" ? "muted" : "error", role: "alert", id: "install-problem" }, i.reason || ""),
      i.guidance ? h("p", { class: "muted" }, i.guidance) : null].filter(Boolean));
    return;
  }
  card.hidden = true;
}

function channelCard(refresh) {
  const error = h("p", { class: "error", role: "alert" });
  const offer = h("div", { id: "channel-offer", "aria-live": "polite" });
  const form = h("form", { class: "inline-form", id: "channel-form", novalidate: true },
    ...field("channel-url", t("updates.channel_url"), { type: "url", placeholder: "https://…/index.json", autocomplete: "off" }),
    h("button", { type: "submit" }, t("updates.save")));
  const check = h("button", { type: "button", id: "check-now" }, t("updates.check"));
  const card = h("section", { class: "card", id: "update-channel" },
    h("h2", {}, t("updates.channel")), h("p", { class: "muted" }, t("updates.channel_lead")), form, h("p", {}, check), offer, error);
  let edited = false;
  form.querySelector("#channel-url").addEventListener("input", () => { edited = true; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try { await api("PUT", "/api/v1/updates/channel", { url: form.querySelector("#channel-url").value }); edited = false; refresh(); } catch (e) { error.textContent = e.text; }
  });
  check.addEventListener("click", async () => {
    error.textContent = "";
    check.disabled = true;
    try { await api("POST", "/api/v1/updates/check"); } catch (e) { error.textContent = e.text; }
    check.disabled = false;
    refresh();
  });
  function show(s) {
    card.hidden = !s.available;
    if (!edited) form.querySelector("#channel-url").value = s.channel.url || "";
    check.disabled = !s.channel.url;
    const busy = s.install && s.install.state === "running";
    // An offer already written to the other slot waits for the restart, not another install.
    const o = s.channel.offer && !(s.other.version === s.channel.offer.version && s.next_boot === s.other.slot) ? s.channel.offer : null;
    offer.replaceChildren(...[
      s.channel.error ? h("p", { class: "error" }, s.channel.error) : null,
      s.channel.checked_at ? h("p", { class: "muted small" }, t("updates.checked", { when: ago(s.channel.checked_at) })) : null,
      o ? h("div", { class: "offer" },
        h("p", { id: "offer-version" }, t("updates.offer", { version: o.version }), o.size ? ` (${bytes(o.size)})` : ""),
        o.notes ? h("p", { class: "notes" }, o.notes) : null,
        h("button", { type: "button", class: "primary", id: "install-offer", disabled: busy, onclick: async () => {
          error.textContent = "";
          try { await api("POST", "/api/v1/updates/install"); refresh(); } catch (e) { error.textContent = e.text; }
        } }, t("updates.install", { version: o.version }))) : (s.channel.checked_at && !s.channel.error && !s.channel.offer ? h("p", { id: "up-to-date" }, t("updates.up_to_date")) : null),
    ].filter(Boolean));
  }
  return { card, show };
}

function uploadCard(refresh) {
  const error = h("p", { class: "error", role: "alert" });
  const bar = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true, "aria-label": t("updates.uploading") });
  const input = h("input", { type: "file", id: "bundle-file", accept: ".hup" });
  const card = h("section", { class: "card", id: "update-upload" },
    h("h2", {}, t("updates.from_file")), h("p", { class: "muted" }, t("updates.from_file_lead")),
    h("label", { for: "bundle-file" }, t("updates.choose_file")), input, bar, error);
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    error.textContent = "";
    bar.hidden = false;
    const r = await send("/api/v1/updates/upload", file, (f) => { bar.value = f; });
    bar.hidden = true;
    input.value = "";
    if (r.status >= 300) error.textContent = (r.data && r.data.error && r.data.error.message) || t("error.generic", { status: r.status });
    refresh();
  });
  return card;
}

function showHistory(card, events) {
  card.replaceChildren(h("h2", {}, t("updates.history")),
    events.length ? h("ul", { class: "plain-list", id: "update-events" }, events.map((e) => h("li", { "data-kind": e.kind },
      t(`updates.event.${e.kind}`, { version: e.version || "?" }), e.reason ? ` ${e.reason}` : "", h("span", { class: "muted small" }, ` · ${ago(e.at)}`))))
      : h("p", { class: "empty" }, t("updates.no_history")));
}
