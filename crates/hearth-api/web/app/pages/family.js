// The family: who can log in (admins add, change and remove people), the family folders
// (admins make them and say who may read or change each), and the caller's own app passwords
// (for the phone apps that log in), each shown once with a QR code to scan.
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { qrImage } from "/app/qr.js";
import { t, takenDate } from "/app/text.js";

const ROLES = ["member", "admin", "owner"];

export function render(main, route, app) {
  const admin = app.me.role === "admin" || app.me.role === "owner";
  const people = h("tbody", { id: "people" });
  const tokens = h("tbody", { id: "tokens" });
  const created = h("div", { id: "token-created", "aria-live": "polite" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("family.title"))));
  if (admin) {
    main.append(h("section", { class: "card" },
      h("h2", {}, t("family.people")),
      h("table", {}, h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("family.name")), h("th", { scope: "col" }, t("family.role")), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("family.actions"))))), people),
      addForm()));
  }
  const folders = h("div", { id: "family-folders" });
  if (admin) {
    main.append(h("section", { class: "card" },
      h("h2", {}, t("folders.title")),
      h("p", { class: "muted" }, t("folders.lead")),
      folders, folderForm()));
  }
  const sharingWith = h("ul", { id: "sharing-with", class: "plain-list" });
  const sharedBy = h("ul", { id: "shared-by", class: "plain-list" });
  main.append(h("section", { class: "card" },
    h("h2", {}, t("partners.title")),
    h("p", { class: "muted" }, t("partners.lead")),
    h("h3", {}, t("partners.sharing_with")), sharingWith, partnerForm(),
    h("h3", {}, t("partners.shared_by")), sharedBy));
  main.append(h("section", { class: "card" },
    h("h2", {}, t("family.app_passwords")),
    h("p", { class: "muted" }, t("family.app_passwords_lead")),
    h("table", {}, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, t("family.token_name")), h("th", { scope: "col" }, t("family.token_used")), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("family.actions"))))), tokens),
    tokenForm(), created));

  async function refresh() {
    try {
      if (admin) {
        const users = await api("GET", "/api/v1/users");
        showPeople(users);
        showFolders((await api("GET", "/api/v1/family-folders")).folders, users);
      }
      showTokens(await api("GET", "/api/v1/me/tokens"));
      showPartners(await api("GET", "/api/v1/partners"));
    } catch (e) { app.toast(e.text || String(e)); }
  }

  function showPeople(list) {
    people.replaceChildren(...list.map((u) => {
      const role = h("select", { "aria-label": t("family.role_of", { name: u.name }), disabled: u.id === app.me.id || (u.role === "owner" && app.me.role !== "owner") },
        ROLES.filter((r) => r !== "owner" || app.me.role === "owner").map((r) => h("option", { value: r, selected: r === u.role }, t(`role.${r}`))));
      role.addEventListener("change", () => act(() => api("PATCH", `/api/v1/users/${encodeURIComponent(u.name)}`, { role: role.value }), t("family.role_changed", { name: u.name })));
      const reset = h("button", { type: "button", class: "small", "aria-expanded": "false" }, t("family.reset"));
      // A row below with the new password's field: typed hidden, like every password.
      reset.addEventListener("click", () => {
        const row = reset.closest("tr");
        if (row.nextElementSibling && row.nextElementSibling.classList.contains("reset-row")) {
          row.nextElementSibling.remove();
          reset.setAttribute("aria-expanded", "false");
          return;
        }
        const id = `reset-${u.id}`;
        const form = h("form", { class: "inline-form" },
          field(id, t("family.new_password_for", { name: u.display_name || u.name }), { type: "password", required: true, minlength: "8", autocomplete: "new-password" }),
          h("button", { type: "submit", class: "primary" }, t("family.reset_submit")));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          act(() => api("POST", `/api/v1/users/${encodeURIComponent(u.name)}/password`, { password: form.querySelector("input").value }), t("family.password_reset", { name: u.name }));
        });
        row.after(h("tr", { class: "reset-row" }, h("td", { colspan: 3 }, form)));
        reset.setAttribute("aria-expanded", "true");
        form.querySelector("input").focus();
      });
      // The most their files (WebDAV, the Nextcloud apps) may take, in GB; empty for no limit.
      const quota = h("button", { type: "button", class: "small", "aria-expanded": "false", "data-quota": u.name },
        u.files_quota_bytes ? t("family.quota_is", { gb: +(u.files_quota_bytes / 1e9).toFixed(2) }) : t("family.quota_none"));
      quota.addEventListener("click", () => {
        const row = quota.closest("tr");
        if (row.nextElementSibling && row.nextElementSibling.classList.contains("quota-row")) {
          row.nextElementSibling.remove();
          quota.setAttribute("aria-expanded", "false");
          return;
        }
        const id = `quota-${u.id}`;
        const form = h("form", { class: "inline-form" },
          field(id, t("family.quota_for", { name: u.display_name || u.name }), { type: "number", min: "0", step: "any", inputmode: "decimal", value: u.files_quota_bytes ? +(u.files_quota_bytes / 1e9).toFixed(2) : "" }),
          h("button", { type: "submit", class: "primary" }, t("family.quota_submit")));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const gb = Number(form.querySelector("input").value || 0);
          const mib = Math.round((gb * 1e9) / 1048576);
          act(() => api("PATCH", `/api/v1/users/${encodeURIComponent(u.name)}`, { files_quota_mib: gb > 0 ? Math.max(1, mib) : 0 }), t("family.quota_set", { name: u.name }));
        });
        row.after(h("tr", { class: "quota-row" }, h("td", { colspan: 3 }, form)));
        quota.setAttribute("aria-expanded", "true");
        form.querySelector("input").focus();
      });
      const remove = h("button", { type: "button", class: "small danger", hidden: u.id === app.me.id }, t("family.remove"));
      remove.addEventListener("click", () => {
        if (confirm(t("family.remove_confirm", { name: u.display_name || u.name }))) act(() => api("DELETE", `/api/v1/users/${encodeURIComponent(u.name)}`), t("family.removed", { name: u.name }));
      });
      return h("tr", { "data-user": u.name },
        h("td", {}, h("bdi", {}, u.display_name || u.name), u.display_name && u.display_name !== u.name ? h("span", { class: "muted" }, ` (${u.name})`) : null),
        h("td", {}, role),
        h("td", { class: "actions" }, quota, reset, remove));
    }));
  }

  function showPartners(p) {
    sharingWith.replaceChildren(...(p.sharing_with.length ? p.sharing_with.map((name) => {
      const stop = h("button", { type: "button", class: "small danger" }, t("partners.stop"));
      stop.addEventListener("click", () => act(() => api("DELETE", `/api/v1/partners/${encodeURIComponent(name)}`), t("partners.stopped", { name })));
      return h("li", { "data-partner": name }, h("bdi", {}, name), " ", stop);
    }) : [h("li", { class: "muted" }, t("partners.nobody"))]));
    sharedBy.replaceChildren(...(p.shared_by.length ? p.shared_by.map((name) =>
      h("li", { "data-owner": name }, h("a", { href: `#/photos?user=${encodeURIComponent(name)}` }, h("bdi", {}, t("partners.open", { name })))))
      : [h("li", { class: "muted" }, t("partners.nobody"))]));
  }

  function partnerForm() {
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { id: "add-partner", class: "inline-form" },
      h("label", { for: "partner-name" }, t("partners.add")),
      h("input", { id: "partner-name", required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false" }),
      h("button", { type: "submit", class: "primary" }, t("partners.add_submit")), error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const name = form.querySelector("#partner-name").value.trim();
      try {
        await api("PUT", `/api/v1/partners/${encodeURIComponent(name)}`);
        form.reset();
        app.toast(t("partners.added", { name }));
        refresh();
      } catch (e) { error.textContent = e.text; }
    });
    return form;
  }

  function showTokens(list) {
    if (!list.length) { tokens.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "muted" }, t("family.no_tokens")))); return; }
    tokens.replaceChildren(...list.map((k) => {
      const revoke = h("button", { type: "button", class: "small danger" }, t("family.revoke"));
      revoke.addEventListener("click", () => act(() => api("DELETE", `/api/v1/me/tokens/${k.id}`), t("family.revoked", { name: k.name })));
      return h("tr", { "data-token": k.id },
        h("td", {}, h("bdi", {}, k.name), h("span", { class: "muted" }, ` ${k.hint}…`), k.scope && k.scope !== "full" ? h("span", { class: "muted" }, ` · ${t(`family.scope_short.${k.scope}`)}`) : null),
        h("td", {}, k.last_used_at ? takenDate(k.last_used_at, -new Date().getTimezoneOffset()) : t("family.never")),
        h("td", { class: "actions" }, revoke));
    }));
  }

  // Each family folder with its members: what each may do, taken away, someone added; the
  // folder deleted once it is empty.
  function showFolders(list, users) {
    if (!list.length) { folders.replaceChildren(h("p", { class: "muted" }, t("folders.none"))); return; }
    folders.replaceChildren(...list.map((f) => {
      const base = `/api/v1/family-folders/${f.id}`;
      const rows = f.members.map((m) => {
        const access = h("select", { "aria-label": t("folders.access_of", { name: m.name, folder: f.name }) },
          ["read", "write"].map((a) => h("option", { value: a, selected: a === m.access }, t(`folders.${a}`))));
        access.addEventListener("change", () => act(() => api("PUT", `${base}/members/${encodeURIComponent(m.name)}`, { access: access.value }), t("folders.changed", { name: m.name })));
        const remove = h("button", { type: "button", class: "small danger", "aria-label": t("folders.remove_of", { name: m.name, folder: f.name }) }, t("folders.remove"));
        remove.addEventListener("click", () => act(() => api("DELETE", `${base}/members/${encodeURIComponent(m.name)}`), t("folders.removed", { name: m.name, folder: f.name })));
        return h("li", { "data-member": m.name }, h("bdi", {}, m.name), " ", access, " ", remove);
      });
      const others = users.filter((u) => !f.members.some((m) => m.name === u.name));
      const add = others.length ? (() => {
        const who = h("select", { "aria-label": t("folders.add_who", { folder: f.name }) }, others.map((u) => h("option", { value: u.name }, u.display_name || u.name)));
        const access = h("select", { "aria-label": t("folders.add_access", { folder: f.name }) }, ["read", "write"].map((a) => h("option", { value: a }, t(`folders.${a}`))));
        const form = h("form", { class: "inline-form folder-add" }, who, access, h("button", { type: "submit", class: "small" }, t("folders.add")));
        form.addEventListener("submit", (ev) => {
          ev.preventDefault();
          act(() => api("PUT", `${base}/members/${encodeURIComponent(who.value)}`, { access: access.value }), t("folders.added", { name: who.value, folder: f.name }));
        });
        return form;
      })() : null;
      const remove = h("button", { type: "button", class: "small danger" }, t("folders.delete"));
      remove.addEventListener("click", () => {
        if (confirm(t("folders.delete_confirm", { folder: f.name }))) act(() => api("DELETE", base), t("folders.deleted", { folder: f.name }));
      });
      return h("div", { class: "family-folder", "data-folder": f.name },
        h("h3", {}, h("bdi", {}, f.name)), h("ul", { class: "plain-list" }, rows), add, remove);
    }));
  }

  function folderForm() {
    const name = h("input", { id: "folder-name", required: true, maxlength: "255", autocomplete: "off", placeholder: t("folders.name_hint"), "aria-label": t("folders.name") });
    const form = h("form", { id: "folder-form", class: "inline-form" }, name, h("button", { type: "submit", class: "small" }, t("folders.create")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body = { name: name.value.trim(), members: [{ name: app.me.name, access: "write" }] };
      act(async () => { await api("POST", "/api/v1/family-folders", body); name.value = ""; }, t("folders.created", { folder: body.name }));
    });
    return form;
  }

  async function act(call, done) {
    try {
      await call();
      app.toast(done);
    } catch (e) { app.toast(e.text || String(e)); }
    refresh();
  }

  function addForm() {
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { id: "add-person", class: "inline-form" },
      h("h3", {}, t("family.add")),
      field("person-name", t("family.login_name"), { required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false" }),
      field("person-display", t("family.display_name"), { autocomplete: "off" }),
      field("person-password", t("family.first_password"), { type: "password", required: true, minlength: "8", autocomplete: "new-password" }),
      h("label", { for: "person-role" }, t("family.role")),
      h("select", { id: "person-role" }, ["member", "admin"].map((r) => h("option", { value: r }, t(`role.${r}`)))),
      h("button", { type: "submit", class: "primary" }, t("family.add_submit")),
      error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const body = { name: form.querySelector("#person-name").value.trim(), password: form.querySelector("#person-password").value, role: form.querySelector("#person-role").value };
      const display = form.querySelector("#person-display").value.trim();
      if (display) body.display_name = display;
      try {
        await api("POST", "/api/v1/users", body);
        form.reset();
        app.toast(t("family.added", { name: body.display_name || body.name }));
        refresh();
      } catch (e) { error.textContent = e.text; }
    });
    return form;
  }

  function tokenForm() {
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { id: "add-token", class: "inline-form" },
      field("token-name", t("family.token_for"), { required: true, placeholder: t("family.token_placeholder"), autocomplete: "off" }),
      h("label", { for: "token-scope" }, t("family.token_scope")),
      h("select", { id: "token-scope" }, ["full", "backup_append_only", "backup"].map((s) => h("option", { value: s }, t(`family.scope.${s}`)))),
      h("button", { type: "submit", class: "primary" }, t("family.token_create")),
      error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      try {
        const scope = form.querySelector("#token-scope").value;
        const k = await api("POST", "/api/v1/me/tokens", { name: form.querySelector("#token-name").value.trim(), scope });
        form.reset();
        if (scope === "full") {
          // The Nextcloud apps' login link: scanning it fills in the box, the user and the password.
          const link = `nc://login/user:${app.me.name}&password:${k.secret}&server:${location.origin}`;
          created.replaceChildren(h("div", { class: "secret-box" },
            h("p", {}, t("family.token_once")),
            h("p", { class: "secret", id: "token-secret" }, k.secret),
            await qrImage(link, t("family.token_qr")),
            h("p", { class: "muted" }, t("family.token_qr_lead"))));
        } else {
          // A laptop's restic: the repository address to paste, with this password in it.
          const repo = `rest:${location.protocol}//${encodeURIComponent(app.me.name)}:${k.secret}@${location.host}/restic/${encodeURIComponent(app.me.name)}/laptop`;
          created.replaceChildren(h("div", { class: "secret-box" },
            h("p", {}, t("family.token_once")),
            h("p", { class: "secret", id: "token-secret" }, k.secret),
            h("p", {}, t("family.restic_lead")),
            h("p", { class: "secret", id: "restic-repo" }, `restic -r ${repo} init`)));
        }
        refresh();
      } catch (e) { error.textContent = e.text || String(e); }
    });
    return form;
  }

  refresh();
}
