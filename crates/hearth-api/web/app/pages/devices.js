// Phones and computers: this box's sync ID (text and QR code for the Syncthing apps), devices
// asking to be accepted, paired devices, folders they offer (accepted as receive-only, with the
// choice of whose timeline their photos join) and the folders the box shares, with progress.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { qrImage } from "/app/qr.js";
import { t, bytes, takenDate } from "/app/text.js";

const EVERY_MS = 3000;

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  const idText = h("p", { class: "device-id", id: "box-sync-id" });
  const qr = h("div", { class: "qr-box" });
  const waiting = h("div", { id: "pending-devices", "aria-live": "polite" });
  const offers = h("div", { id: "pending-folders", "aria-live": "polite" });
  const paired = h("tbody", { id: "paired-devices" });
  const folders = h("div", { id: "folders" });
  const copy = h("button", { type: "button", class: "small" }, t("devices.copy"));
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(idText.textContent); app.toast(t("devices.copied")); } catch (_) { /* not allowed over plain HTTP */ }
  });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("devices.title")), h("a", { id: "calendars-open", href: "#/calendars" }, t("calendars.open"))),
    h("section", { class: "card pairing" }, h("h2", {}, t("devices.this_box")), qr, idText, copy, h("p", { class: "muted" }, t("devices.this_box_lead"))),
    h("section", { class: "card" }, h("h2", {}, t("devices.waiting")), waiting),
    h("section", { class: "card" }, h("h2", {}, t("devices.offers")), offers),
    h("section", { class: "card" }, h("h2", {}, t("devices.paired")), h("table", {}, paired)),
    h("section", { class: "card" }, h("h2", {}, t("devices.folders")), folders));

  let users = null;
  let timer = 0, gone = false;
  const offered = new Map(); // folder id → the open offer form, kept across refreshes

  async function start() {
    try {
      const id = await api("GET", "/api/v1/sync/id");
      idText.textContent = id.device_id;
      qr.replaceChildren(await qrImage(id.device_id, t("devices.qr")));
      if (admin) users = await api("GET", "/api/v1/users");
    } catch (e) { app.toast(e.text || String(e)); }
    refresh();
  }

  async function refresh() {
    try {
      const [devs, fs, conns] = await Promise.all([api("GET", "/api/v1/sync/devices"), api("GET", "/api/v1/sync/folders"), api("GET", "/api/v1/sync/connections")]);
      if (gone) return;
      const names = new Map(devs.devices.map((d) => [d.device_id, d.name]));
      showWaiting(devs.pending);
      showOffers(fs.pending, names);
      showPaired(devs.devices, new Set(conns.connections.map((c) => c.device_id)));
      showFolders(fs.folders);
    } catch (e) {
      if (!gone) app.toast(e.text || String(e));
    }
    if (!gone) timer = setTimeout(refresh, document.hidden ? EVERY_MS * 5 : EVERY_MS);
  }

  function showWaiting(pending) {
    if (!pending.length) { waiting.replaceChildren(h("p", { class: "muted" }, t("devices.none_waiting"))); return; }
    waiting.replaceChildren(...pending.map((p) => {
      const name = p.name || p.device_id.slice(0, 7);
      const accept = h("button", { type: "button", class: "primary", hidden: !admin }, t("devices.accept"));
      accept.addEventListener("click", async () => {
        accept.disabled = true;
        try {
          await api("POST", "/api/v1/sync/devices", { device_id: p.device_id });
          app.toast(t("devices.accepted", { name }));
        } catch (e) { app.toast(e.text); accept.disabled = false; }
        refresh();
      });
      return h("div", { class: "request", "data-device": p.device_id },
        h("p", {}, h("bdi", {}, t("devices.asks", { name, address: p.address }))),
        h("p", { class: "device-id small" }, p.device_id),
        accept);
    }));
  }

  function showOffers(pending, names) {
    const open = new Set(pending.map((p) => p.folder_id));
    for (const id of [...offered.keys()]) if (!open.has(id)) offered.delete(id);
    if (!pending.length) { offers.replaceChildren(h("p", { class: "muted" }, t("devices.no_offers"))); return; }
    offers.replaceChildren(...pending.map((p) => {
      if (offered.has(p.folder_id)) return offered.get(p.folder_id);
      const device = names.get(p.device_id) || p.device_id.slice(0, 7);
      const label = p.label || p.folder_id;
      const select = h("select", { id: `photos-of-${p.folder_id}` },
        (users || [app.me]).map((u) => h("option", { value: u.name, selected: u.name === app.me.name }, u.display_name || u.name)),
        h("option", { value: "" }, t("devices.no_photos")));
      const accept = h("button", { type: "button", class: "primary", hidden: !admin }, t("devices.accept_folder"));
      accept.addEventListener("click", async () => {
        accept.disabled = true;
        try {
          await api("POST", "/api/v1/sync/folders", { id: p.folder_id, label, accept: true, type: "receive-only" });
          if (select.value) await api("PUT", `/api/v1/photos/camera-folders/${encodeURIComponent(p.folder_id)}`, { user: select.value });
          offered.delete(p.folder_id);
          app.toast(t("devices.folder_accepted", { label }));
        } catch (e) { app.toast(e.text); accept.disabled = false; }
        refresh();
      });
      const el = h("div", { class: "request", "data-folder": p.folder_id },
        h("p", {}, h("bdi", {}, t("devices.offer", { device, label }))),
        h("p", { class: "muted" }, t("devices.offer_explained")),
        h("label", { for: select.id }, t("devices.photos_of")), select,
        accept);
      offered.set(p.folder_id, el);
      return el;
    }));
  }

  function showPaired(devices, connected) {
    if (!devices.length) { paired.replaceChildren(h("tr", {}, h("td", { class: "muted" }, t("devices.none_paired")))); return; }
    paired.replaceChildren(...devices.map((d) => {
      const remove = h("button", { type: "button", class: "small danger", hidden: !admin }, t("devices.remove"));
      remove.addEventListener("click", async () => {
        try { await api("DELETE", `/api/v1/sync/devices/${encodeURIComponent(d.device_id)}`); app.toast(t("devices.removed", { name: d.name })); } catch (e) { app.toast(e.text); }
        refresh();
      });
      const on = connected.has(d.device_id);
      return h("tr", { "data-device": d.device_id },
        h("td", {}, h("bdi", {}, d.name || d.device_id.slice(0, 7)), h("br"), h("span", { class: "device-id small" }, d.device_id.slice(0, 15) + "…")),
        h("td", { class: on ? "running" : "muted" }, on ? t("devices.connected") : t("devices.not_connected")),
        h("td", { class: "actions" }, remove));
    }));
  }

  // Folders are drawn anew on every refresh; an open list of versions is kept across them.
  const versionLists = new Map(); // folder id → its versions' element

  function showFolders(list) {
    if (!list.length) { folders.replaceChildren(h("p", { class: "muted" }, t("devices.none_folders"))); return; }
    folders.replaceChildren(...list.map((f) => {
      const done = f.local_bytes + f.need_bytes ? f.local_bytes / (f.local_bytes + f.need_bytes) : 1;
      const toggle = h("button", { type: "button", class: "small versions-toggle", "aria-expanded": String(versionLists.has(f.id)) }, t("versions.show"));
      toggle.addEventListener("click", () => {
        if (versionLists.has(f.id)) versionLists.delete(f.id);
        else versionLists.set(f.id, h("div", { class: "versions", "data-folder": f.id, "aria-busy": "true" }, h("p", { class: "muted" }, t("versions.loading"))));
        showVersions(f.id);
        showFolders(list);
        const again = folders.querySelector(`.folder[data-folder="${CSS.escape(f.id)}"] .versions-toggle`);
        if (again) again.focus();
      });
      return h("div", { class: "folder", "data-folder": f.id },
        h("h3", {}, h("bdi", {}, f.label || f.id), " ", h("span", { class: `state ${f.state}` }, t(`devices.state.${f.state}`))),
        h("progress", { max: 1, value: done, "aria-label": f.label || f.id }),
        h("p", { class: "muted" }, t("devices.folder_line", { files: f.local_files, size: bytes(f.local_bytes), need: f.need_files })),
        f.last_error ? h("p", { class: "error" }, f.last_error) : null,
        toggle, versionLists.get(f.id) || null);
    }));
  }

  // What the other devices deleted or replaced in a folder: kept by the box, put back on request.
  async function showVersions(id) {
    const el = versionLists.get(id);
    if (!el) return;
    try {
      const { versions } = await api("GET", `/api/v1/sync/folders/${encodeURIComponent(id)}/versions`);
      el.removeAttribute("aria-busy");
      if (!versions.length) { el.replaceChildren(h("p", { class: "muted" }, t("versions.none"))); return; }
      el.replaceChildren(h("ul", { class: "plain-list" }, versions.map((v) => {
        const put = h("button", { type: "button", class: "small", hidden: !admin }, t("versions.restore"));
        put.addEventListener("click", async () => {
          put.disabled = true;
          try {
            await api("POST", `/api/v1/sync/folders/${encodeURIComponent(id)}/versions/restore`, { version: v.version });
            app.toast(t("versions.restored", { name: v.name }));
          } catch (e) { app.toast(e.text); }
          showVersions(id);
        });
        return h("li", { "data-version": v.version },
          h("span", {}, h("bdi", {}, v.name), h("br"), h("span", { class: "muted" }, t("versions.kept", { date: takenDate(v.kept_at, -new Date().getTimezoneOffset()), size: bytes(v.size) }))),
          put);
      })));
    } catch (e) { el.removeAttribute("aria-busy"); el.replaceChildren(h("p", { class: "error" }, e.text || String(e))); }
  }

  start();
  return { leave() { gone = true; clearTimeout(timer); } };
}
