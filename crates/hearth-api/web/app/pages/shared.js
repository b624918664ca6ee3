// What someone without an account sees through a share link (`#/s/TOKEN`): the photos, each
// larger on a tap, downloads and uploads when the link allows them; a shared file to download;
// a shared folder to browse and download from, or to drop files into; a password first when
// the link has one; a link that expired or was removed says so.
import { h, field } from "/app/dom.js";
import { t, takenDate, bytes } from "/app/text.js";
import { send } from "/app/api.js";

export function render(main, route) {
  const token = route.parts[0] || "";
  const base = `/api/v1/shared/${encodeURIComponent(token)}`;
  const call = async (method, path, body) => {
    const opts = { method, credentials: "same-origin", headers: {} };
    if (body) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    let r;
    try { r = await fetch(base + path, opts); } catch (_) { return { status: 0, data: null }; }
    let data = null;
    try { data = await r.json(); } catch (_) { /* none */ }
    return { status: r.status, data };
  };

  async function open() {
    const info = await call("GET", "");
    if (info.status === 401) return askPassword();
    if (info.status === 404) return gone();
    if (info.status !== 200) return problem(info);
    if (info.data.kind === "file" || info.data.kind === "folder") showFiles(info.data, route.query.get("path") || "");
    else show(info.data);
  }

  // A shared file, or a folder at `path` below the shared one.
  async function showFiles(info, path) {
    const until = info.expires_at ? ` ${t("shared.until", { date: takenDate(info.expires_at, -new Date().getTimezoneOffset(), false) })}` : "";
    const lead = h("p", { class: "muted" }, t("shared.files_from", { name: info.shared_by }), until);
    const title = h("h1", {}, h("bdi", {}, info.description || info.name || t("shared.files_title")));
    if (info.kind === "file") {
      main.replaceChildren(h("div", { class: "page-head" }, title), lead,
        h("section", { class: "card narrow", id: "shared-file" },
          h("p", {}, h("bdi", {}, info.name), " · ", bytes(info.size)),
          h("a", { class: "button primary", id: "shared-file-download", href: `${base}/download`, download: info.name }, t("shared.download"))));
      return;
    }
    main.replaceChildren(h("div", { class: "page-head" }, title), lead);
    if (info.allow_upload) main.append(dropBox(info, () => info.allow_download && loadList()));
    if (!info.allow_download) return;
    const names = path ? path.split("/") : [];
    const here = (n) => `#/s/${encodeURIComponent(token)}${n.length ? `?path=${encodeURIComponent(n.join("/"))}` : ""}`;
    const crumbs = h("nav", { class: "crumbs", "aria-label": t("shared.where") },
      h("a", { href: here([]) }, h("bdi", {}, info.name)),
      names.flatMap((n, i) => [" › ", h("a", { href: here(names.slice(0, i + 1)) }, h("bdi", {}, n))]));
    const list = h("div", { id: "shared-files", class: "file-list" }, h("p", { class: "muted" }, t("loading")));
    const everything = h("a", { class: "button", id: "shared-archive", href: `${base}/archive${path ? `?path=${encodeURIComponent(path)}` : ""}`, download: "" }, t("shared.download_all"));
    main.append(crumbs, h("p", {}, everything), list);
    async function loadList() {
      const r = await call("GET", `/files?path=${encodeURIComponent(path)}`);
      if (r.status !== 200) return r.status === 404 && !path ? gone() : problem(r);
      if (!r.data.members.length) { list.replaceChildren(h("p", { class: "empty" }, t("shared.empty"))); return; }
      list.replaceChildren(...r.data.members.map(member));
    }
    const member = (m) => {
      const below = [...names, m.name].join("/");
      const link = m.folder
        ? h("a", { href: here([...names, m.name]), class: "file-name" }, h("bdi", {}, m.name))
        : h("a", { href: `${base}/download?path=${encodeURIComponent(below)}`, download: m.name, class: "file-name", "aria-label": t("shared.download_one", { name: m.name }) }, h("bdi", {}, m.name));
      return h("div", { class: "file-row", "data-name": m.name },
        h("span", { class: "file-kind", "aria-hidden": "true" }, m.folder ? "📁" : "📄"),
        h("span", { class: "file-text" }, link, m.folder ? null : h("span", { class: "muted file-meta" }, bytes(m.size))));
    };
    loadList();
  }

  // Files sent into the shared folder one after the other, each with its progress; a name
  // already there is never replaced (the box numbers the new one).
  function dropBox(info, after) {
    const status = h("p", { class: "muted", role: "status", id: "shared-drop-status" });
    const input = h("input", { id: "shared-drop", type: "file", multiple: true, class: "visually-hidden" });
    input.addEventListener("change", async () => {
      const files = [...input.files];
      input.value = "";
      const notes = [];
      let sent = 0;
      for (const [i, f] of files.entries()) {
        const r = await new Promise((resolve) => {
          const x = new XMLHttpRequest();
          x.open("POST", `${base}/files?name=${encodeURIComponent(f.name)}`);
          x.withCredentials = true;
          x.upload.onprogress = (e) => {
            if (e.lengthComputable) status.textContent = t("shared.sending", { name: f.name, n: i + 1, of: files.length, percent: Math.round(e.loaded / e.total * 100) });
          };
          x.onload = () => { let data = null; try { data = JSON.parse(x.responseText); } catch (_) { /* none */ } resolve({ status: x.status, data }); };
          x.onerror = () => resolve({ status: 0, data: null });
          x.send(f);
        });
        if (r.status === 201) {
          sent++;
          if (r.data.name !== f.name) notes.push(t("shared.sent_as", { name: f.name, as: r.data.name }));
        } else notes.push(`${f.name}: ${r.data && r.data.error ? r.data.error.message : r.status === 0 ? t("error.network") : t("error.generic", { status: r.status })}`);
      }
      status.textContent = [t("shared.sent", { n: sent }), ...notes].join(" ");
      after();
    });
    return h("section", { class: "card narrow", id: "shared-drop-box" },
      h("h2", {}, t("shared.drop_title", { name: info.shared_by })),
      h("p", { class: "muted" }, t("shared.drop_lead")),
      h("label", { for: "shared-drop", class: "button primary" }, t("shared.drop_pick")), input, status);
  }

  function gone() {
    main.replaceChildren(h("section", { class: "card narrow", id: "share-gone" }, h("h1", {}, t("shared.gone_title")), h("p", {}, t("shared.gone"))));
  }

  function problem(r) {
    const e = r.data && r.data.error;
    main.replaceChildren(h("p", { class: "error", role: "alert" }, e ? e.message : r.status === 0 ? t("error.network") : t("error.generic", { status: r.status })));
  }

  function askPassword() {
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "card narrow", id: "share-unlock" },
      h("h1", {}, t("shared.locked")),
      field("share-key", t("shared.password"), { type: "password", required: true, autocomplete: "off" }),
      h("button", { type: "submit", class: "primary" }, t("shared.open")), error);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = await call("POST", "/unlock", { password: form.querySelector("#share-key").value });
      if (r.status === 200) open();
      else error.textContent = r.data && r.data.error ? r.data.error.message : t("error.generic", { status: r.status });
    });
    main.replaceChildren(form);
    form.querySelector("input").focus();
  }

  async function show(info) {
    const grid = h("div", { class: "cells album-cells", id: "shared-assets" });
    const status = h("p", { class: "muted", role: "status", id: "shared-upload-status" });
    const head = h("div", { class: "page-head" }, h("h1", {}, h("bdi", {}, info.album_title || info.description || t("shared.title"))));
    const lead = h("p", { class: "muted" }, t("shared.from", { name: info.shared_by, n: info.asset_count }),
      info.expires_at ? ` ${t("shared.until", { date: takenDate(info.expires_at, -new Date().getTimezoneOffset(), false) })}` : "");
    main.replaceChildren(head, lead);
    if (info.allow_upload) {
      const input = h("input", { id: "shared-upload", type: "file", multiple: true, accept: "image/*,video/*", class: "visually-hidden" });
      input.addEventListener("change", async () => {
        const files = [...input.files];
        input.value = "";
        let done = 0;
        const failed = [];
        for (const [i, f] of files.entries()) {
          status.textContent = t("photos.sending", { i: i + 1, n: files.length, name: f.name });
          const r = await send(`${base}/assets?name=${encodeURIComponent(f.name)}`, f);
          if (r.status === 200 || r.status === 201) done++;
          else failed.push(`${f.name}: ${r.data && r.data.error ? r.data.error.message : r.status}`);
        }
        status.textContent = t("photos.sent", { done, duplicates: 0, failed: failed.join("; ") });
        load();
      });
      head.append(h("label", { for: "shared-upload", class: "button" }, t("shared.add")), input);
    }
    main.append(status, grid);

    async function load() {
      const assets = [];
      let after = "";
      for (;;) {
        const r = await call("GET", `/assets?limit=1000${after}`);
        if (r.status !== 200) return r.status === 404 ? gone() : problem(r);
        assets.push(...r.data.assets);
        if (!r.data.next || !r.data.assets.length) break;
        after = `&after_taken_at=${r.data.next[0]}&after_id=${r.data.next[1]}`;
      }
      grid.replaceChildren(...assets.map((a) => {
        const b = h("button", { type: "button", class: "cell", "data-id": a.id, "aria-label": t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) }) },
          h("img", { alt: "", loading: "lazy", src: `${base}/assets/${a.id}/thumbnail` }));
        b.addEventListener("click", () => look(a, info));
        return b;
      }));
    }
    load();
  }

  function look(a, info) {
    const close = h("button", { type: "button", class: "quiet", id: "shared-close" }, t("viewer.close"));
    const dialog = h("dialog", { class: "sheet wide", "aria-label": t("viewer.label") },
      h("img", { class: "shared-large", alt: t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) }), src: `${base}/assets/${a.id}/thumbnail?size=1440` }),
      h("div", { class: "sheet-actions" },
        info.allow_download ? h("a", { class: "button", id: "shared-download", href: `${base}/assets/${a.id}/original`, download: "" }, t("viewer.download")) : null,
        close));
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  open();
}
