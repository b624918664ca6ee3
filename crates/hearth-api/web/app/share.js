// Making a share link (an album or chosen photos): who holds the link sees them without an
// account; optional password and expiry; downloads and uploads allowed or not. The link is
// shown once, with a QR code to scan from another phone.
import { api } from "/app/api.js";
import { h, field } from "/app/dom.js";
import { qrImage } from "/app/qr.js";
import { t } from "/app/text.js";

// Opens the dialog; `what` is {album_id} or {assets: [id]}. Resolves when it closes.
export function shareDialog(what, toast) {
  return new Promise((resolve) => {
    const error = h("p", { class: "error", role: "alert" });
    const result = h("div", { id: "share-result", "aria-live": "polite" });
    const expiry = h("select", { id: "share-expiry" },
      [["", "share.never"], ["1", "share.day"], ["7", "share.week"], ["30", "share.month"]].map(([v, k]) => h("option", { value: v }, t(k))));
    const form = h("form", { id: "share-form", class: "inline-form" },
      field("share-description", t("share.description"), { autocomplete: "off", maxlength: "200" }),
      field("share-password", t("share.password"), { type: "password", autocomplete: "new-password" }),
      h("label", { for: "share-expiry" }, t("share.expires")), expiry,
      h("label", { class: "check" }, h("input", { type: "checkbox", id: "share-download", checked: true }), t("share.allow_download")),
      h("label", { class: "check" }, h("input", { type: "checkbox", id: "share-upload" }), t("share.allow_upload")),
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
      const body = { ...what, allow_download: form.querySelector("#share-download").checked, allow_upload: form.querySelector("#share-upload").checked };
      const description = form.querySelector("#share-description").value.trim();
      if (description) body.description = description;
      const password = form.querySelector("#share-password").value;
      if (password) body.password = password;
      if (expiry.value) body.expires_at = Math.floor(Date.now() / 1000) + Number(expiry.value) * 86400;
      try {
        const link = await api("POST", "/api/v1/shares", body);
        const url = `${location.origin}/#/s/${link.token}`;
        const copy = h("button", { type: "button", class: "small" }, t("share.copy"));
        copy.addEventListener("click", async () => { try { await navigator.clipboard.writeText(url); toast(t("share.copied")); } catch (_) { /* plain HTTP */ } });
        form.hidden = true;
        result.replaceChildren(h("p", {}, t("share.made")), h("p", { class: "secret", id: "share-url" }, url), copy, await qrImage(url, t("share.qr")));
      } catch (e) { error.textContent = e.text || String(e); }
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
