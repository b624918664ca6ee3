// Calendars & contacts: the member's calendars and address books on the box (docs/calendars.md),
// made, renamed, shared with family members (to read or to change) and deleted here, and those
// others share with them (to leave); synced by the phone's own apps over CalDAV and CardDAV; and
// how to connect a phone: the address, and an app password as a QR code that opens DAVx⁵ with
// everything filled in.
import { api } from "/app/api.js";
import { h, twice } from "/app/dom.js";
import { qrImage } from "/app/qr.js";
import { t } from "/app/text.js";

export function render(main, route, app) {
  const calendars = h("ul", { id: "calendar-list", class: "plain-list" });
  const books = h("ul", { id: "addressbook-list", class: "plain-list" });
  const address = `${location.origin}/dav/`;
  const connected = h("div", { id: "connect-secret", "aria-live": "polite" });
  const connect = h("button", { type: "button", class: "primary", id: "connect-phone" }, t("calendars.connect_make"));

  main.append(
    h("div", { class: "page-head" }, h("h1", {}, t("calendars.title"))),
    h("section", { class: "card" }, h("h2", {}, t("calendars.calendars")), calendars, newForm("calendar")),
    h("section", { class: "card" }, h("h2", {}, t("calendars.addressbooks")), books, newForm("addressbook")),
    h("section", { class: "card", id: "connect" },
      h("h2", {}, t("calendars.connect")),
      h("p", {}, t("calendars.connect_lead")),
      h("dl", { class: "facts" },
        h("dt", {}, t("calendars.address")), h("dd", { id: "dav-address" }, h("code", {}, address)),
        h("dt", {}, t("calendars.user")), h("dd", {}, h("code", {}, app.me.name))),
      connect, connected,
      h("p", { class: "muted" }, t("calendars.connect_iphone", { address }))));

  connect.addEventListener("click", async () => {
    connect.disabled = true;
    try {
      const k = await api("POST", "/api/v1/me/tokens", { name: t("calendars.token_name") });
      // DAVx⁵ (and other Android CalDAV apps) open caldav(s):// links with the address and
      // the credentials filled in.
      const scheme = location.protocol === "https:" ? "caldavs" : "caldav";
      const link = `${scheme}://${encodeURIComponent(app.me.name)}:${encodeURIComponent(k.secret)}@${location.host}/dav/`;
      connected.replaceChildren(h("div", { class: "secret-box" },
        h("p", {}, t("family.token_once")),
        h("p", { class: "secret", id: "calendar-secret" }, k.secret),
        await qrImage(link, t("calendars.qr")),
        h("p", { class: "muted" }, t("calendars.qr_lead"))));
    } catch (e) { app.toast(e.text || String(e)); }
    connect.disabled = false;
  });

  function newForm(kind) {
    const id = `new-${kind}`;
    const error = h("p", { class: "error", role: "alert" });
    const name = h("input", { id: `${id}-name`, required: true, maxlength: 100, autocomplete: "off", placeholder: t(`calendars.new_${kind}_placeholder`) });
    const color = h("input", { id: `${id}-color`, type: "color", value: kind === "calendar" ? "#2e7d32" : "#1565c0", "aria-label": t("calendars.color") });
    const form = h("form", { id, class: "inline-form" },
      h("label", { for: `${id}-name` }, t(`calendars.new_${kind}`)), name,
      kind === "calendar" ? color : null,
      h("button", { type: "submit" }, t("calendars.make")), error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      try {
        const body = { kind, display_name: name.value.trim() };
        if (kind === "calendar") body.color = color.value;
        const made = await api("POST", "/api/v1/calendars", body);
        name.value = "";
        app.toast(t("calendars.made", { name: made.display_name }));
        load();
      } catch (e) { error.textContent = e.text || String(e); }
    });
    return form;
  }

  function row(c) {
    // The colour through the style object: the page's policy refuses style attributes.
    const swatch = c.kind === "calendar" ? h("span", { class: "swatch", "aria-hidden": "true" }) : null;
    if (swatch && c.color) swatch.style.backgroundColor = c.color.length === 9 ? c.color.slice(0, 7) : c.color;
    const label = h("span", { class: "collection-name" }, swatch, h("bdi", {}, c.display_name));
    const count = h("span", { class: "muted" }, t(c.kind === "calendar" ? "calendars.events" : "calendars.contacts", { n: c.items }));
    const url = `/api/v1/calendars/${c.kind}/${encodeURIComponent(c.name)}`;
    if (c.shared_by) {
      // Someone else's, shared with this member: who, what they may do, and a way to leave it.
      const leave = h("button", { type: "button", class: "small" }, t("calendars.leave"));
      leave.addEventListener("click", async () => {
        try { await api("DELETE", url); app.toast(t("calendars.left", { name: c.display_name })); } catch (e) { app.toast(e.text || String(e)); }
        load();
      });
      const from = h("span", { class: "muted shared-by" }, t(c.access === "write" ? "calendars.shared_by_write" : "calendars.shared_by_read", { name: c.shared_by }));
      return h("li", { class: "collection-row", "data-kind": c.kind, "data-name": c.name }, label, count, from, h("span", { class: "row-actions" }, leave));
    }
    const rename = h("button", { type: "button", class: "small" }, t("calendars.rename"));
    const shareButton = h("button", { type: "button", class: "small", "aria-expanded": "false" }, t("calendars.share"));
    const remove = h("button", { type: "button", class: "small danger", "aria-label": t("calendars.delete_one", { name: c.display_name }) }, t("calendars.delete"));
    const sharing = h("div", { class: "collection-share", hidden: true });
    const members = c.members.map((m) => {
      const stop = h("button", { type: "button", class: "small", "aria-label": t("calendars.unshare_one", { name: m.name }) }, t("calendars.unshare"));
      stop.addEventListener("click", async () => {
        try { await api("DELETE", `${url}/members/${encodeURIComponent(m.name)}`); } catch (e) { app.toast(e.text || String(e)); }
        load();
      });
      return h("span", { class: "share-member", "data-member": m.name }, h("bdi", {}, m.name), " ", t(m.access === "write" ? "calendars.can_change" : "calendars.can_read"), stop);
    });
    const who = h("input", { "aria-label": t("calendars.share_with"), placeholder: t("calendars.share_with"), autocomplete: "off", maxlength: 64 });
    const access = h("select", { "aria-label": t("calendars.access") },
      h("option", { value: "read" }, t("calendars.can_read")), h("option", { value: "write" }, t("calendars.can_change")));
    const shareForm = h("form", { class: "inline-form" }, who, access, h("button", { type: "submit" }, t("calendars.share")));
    shareForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("PUT", `${url}/members/${encodeURIComponent(who.value.trim())}`, { access: access.value });
        app.toast(t("calendars.shared", { name: c.display_name, who: who.value.trim() }));
        load();
      } catch (e) { app.toast(e.text || String(e)); }
    });
    sharing.append(...members, shareForm);
    shareButton.addEventListener("click", () => {
      sharing.hidden = !sharing.hidden;
      shareButton.setAttribute("aria-expanded", String(!sharing.hidden));
      if (!sharing.hidden) who.focus();
    });
    const shown = members.length ? h("span", { class: "muted" }, t("calendars.shared_with", { names: c.members.map((m) => m.name).join(", ") })) : null;
    const item = h("li", { class: "collection-row", "data-kind": c.kind, "data-name": c.name }, label, count, shown, h("span", { class: "row-actions" }, rename, shareButton, remove), sharing);
    rename.addEventListener("click", () => {
      const input = h("input", { value: c.display_name, maxlength: 100, "aria-label": t("calendars.rename") });
      const form = h("form", { class: "inline-form" }, input, h("button", { type: "submit", class: "primary" }, t("people.save")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        try { await api("PATCH", url, { display_name: input.value.trim() }); } catch (e) { app.toast(e.text || String(e)); }
        load();
      });
      item.replaceChildren(form);
      input.focus();
    });
    // Two steps: everything in it goes with it. The list is drawn again either way.
    twice(remove, t("calendars.delete_sure", { n: c.items }), async () => {
      try {
        await api("DELETE", url);
        app.toast(t("calendars.deleted", { name: c.display_name }));
      } catch (e) { app.toast(e.text || String(e)); }
      load();
    }, () => {});
    return item;
  }

  async function load() {
    try {
      const { collections } = await api("GET", "/api/v1/calendars");
      const of = (kind) => collections.filter((c) => c.kind === kind);
      calendars.replaceChildren(...of("calendar").map(row));
      books.replaceChildren(...of("addressbook").map(row));
    } catch (e) { app.toast(e.text || String(e)); }
  }
  load();
}
