// Making a share link (an album, chosen photos, or a file or folder of the Files page): who
// holds the link sees them without an account; optional password and expiry; downloads and
// uploads allowed or not (a folder: see it, only take files — a drop box — or both). The link
// is shown once, with a QR code to scan from another phone.
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { qrImage } from "/app/qr.js";
import { t, takenDate } from "/app/text.js";

// Opens the dialog; `what` is {album_id}, {assets: [id]} or {path}, and `kind` for a path is
// "file" or "folder". Resolves when it closes.
export function shareDialog(what, toast, kind = "photos") {
  return new Promise((resolve) => {
    const error = h("p", { class: "error", role: "alert" });
    const result = h("div", { id: "share-result", "aria-live": "polite" });
    const expiry = h("select", { id: "share-expiry" },
      [["", "share.never"], ["1", "share.day"], ["7", "share.week"], ["30", "share.month"]].map(([v, k]) => h("option", { value: v }, t(k))));
    const form = h("form", { id: "share-form", class: "inline-form" },
      field("share-description", t("share.description"), { autocomplete: "off", maxlength: "200" }),
      field("share-password", t("share.password"), { type: "password", autocomplete: "new-password" }),
      h("label", { for: "share-expiry" }, t("share.expires")), expiry,
      ...allowed(kind),
      h("button", { type: "submit", class: "primary" }, t("share.create")),
      error);
    const close = h("button", { type: "button", class: "quiet", id: "share-close" }, t("share.close"));
    const dialog = h("dialog", { class: "sheet", "aria-labelledby": "share-title" },
      h("h2", { id: "share-title" }, t("share.title")), form, result, close);
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { dialog.remove(); resolve(); });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      const body = { ...what, ...choice(form, kind) };
      const description = form.querySelector("#share-description").value.trim();
      if (description) body.description = description;
      const password = form.querySelector("#share-password").value;
      if (password) body.password = password;
      if (expiry.value) body.expires_at = Math.floor(Date.now() / 1000) + Number(expiry.value) * 86400;
      try {
        const link = await api("POST", "/api/v1/shares", body);
        const url = `${location.origin}${link.link}`;
        const copy = h("button", { type: "button", class: "small" }, t("share.copy"));
        copy.addEventListener("click", async () => { try { await navigator.clipboard.writeText(url); toast(t("share.copied")); } catch (_) { /* plain HTTP */ } });
        form.hidden = true;
        result.replaceChildren(h("p", {}, t(kind === "photos" ? "share.made" : "share.made_files")), h("p", { class: "secret", id: "share-url" }, url), copy, await qrImage(url, t("share.qr")));
      } catch (e) { error.textContent = e.text || String(e); }
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// What visitors may do: photos (downloads, uploads), a file (nothing to choose: it is given
// out), a folder (see it, only take files, or both).
function allowed(kind) {
  if (kind === "file") return [];
  if (kind === "folder") {
    return [h("label", { for: "share-mode" }, t("share.folder_mode")),
      h("select", { id: "share-mode" },
        [["view", "share.mode_view"], ["drop", "share.mode_drop"], ["both", "share.mode_both"]].map(([v, k]) => h("option", { value: v }, t(k))))];
  }
  return [h("label", { class: "check" }, h("input", { type: "checkbox", id: "share-download", checked: true }), t("share.allow_download")),
    h("label", { class: "check" }, h("input", { type: "checkbox", id: "share-upload" }), t("share.allow_upload"))];
}

function choice(form, kind) {
  if (kind === "file") return { allow_download: true, allow_upload: false };
  if (kind === "folder") {
    const mode = form.querySelector("#share-mode").value;
    return { allow_download: mode !== "drop", allow_upload: mode !== "view" };
  }
  return { allow_download: form.querySelector("#share-download").checked, allow_upload: form.querySelector("#share-upload").checked };
}

// One of the caller's links in a list: what it is (`bits`, already worded), its password and
// expiry, and a button that ends it; `after` runs once it is gone.
export function linkRow(l, bits, toast, after) {
  const revoke = h("button", { type: "button", class: "small danger" }, t("share.revoke"));
  revoke.addEventListener("click", async () => {
    try { await api("DELETE", `/api/v1/shares/${l.id}`); toast(t("share.revoked")); } catch (e) { toast(e.text); }
    after();
  });
  const all = [...bits, l.has_password ? t("share.with_password") : null,
    l.expires_at ? t("share.until", { date: takenDate(l.expires_at, -new Date().getTimezoneOffset(), false) }) : null].filter(Boolean);
  return h("div", { class: "link-row", "data-link": l.id }, h("span", {}, h("bdi", {}, all.join(" · "))), revoke);
}
