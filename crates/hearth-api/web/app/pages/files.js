// The family's files (#/files/FOLDER/…): the signed-in user's own folder on the box, the same
// one their computers and phones reach over WebDAV (docs/files.md). Browse, upload with
// progress, download, make a folder, rename, delete, share by link (and the links made, with
// their downloads, to stop). The page speaks WebDAV to the box itself, with the session
// cookie: what it shows is what every other client sees.
import { h } from "/app/dom.js";
import { api } from "/app/api.js";
import { icon } from "/app/icons.js";
import { shareDialog, linkRow } from "/app/share.js";
import { t, bytes } from "/app/text.js";

const DAV = "DAV:";

// One %-encoded path segment per name.
const enc = (names) => names.map(encodeURIComponent).join("/");

export function render(main, route, app) {
  const folder = route.parts;
  const base = `/dav/files/${encodeURIComponent(app.me.name)}/`;
  const folderUrl = base + (folder.length ? enc(folder) + "/" : "");
  const list = h("div", { id: "files", class: "file-list" }, h("p", { class: "muted" }, t("loading")));
  const status = h("p", { id: "files-status", class: "muted", role: "status" });
  const fileInput = h("input", { type: "file", id: "files-pick", multiple: true, hidden: true });
  const upload = h("button", { type: "button", id: "files-upload", onclick: () => fileInput.click() }, t("files.upload"));
  const newName = h("input", { id: "files-new-folder-name", name: "folder", required: true, placeholder: t("files.new_folder_name"), "aria-label": t("files.new_folder_name") });
  const newFolder = h("form", { id: "files-new-folder", class: "inline-form" }, newName, h("button", { type: "submit", class: "small" }, t("files.new_folder")));
  const links = h("div", { id: "files-links" });

  // Where we are: Files › School › 2026, each a link back up.
  const crumbs = h("nav", { class: "crumbs", "aria-label": t("files.where") },
    h("a", { href: "#/files" }, t("files.title")),
    folder.flatMap((name, i) => [" › ", h("a", { href: "#/files/" + enc(folder.slice(0, i + 1)) }, name)]));

  main.append(
    h("div", { class: "page-head" }, h("h1", {}, folder.length ? folder[folder.length - 1] : t("files.title")), upload, fileInput,
      h("a", { href: "#/files-trash", class: "button quiet-link", id: "files-trash-link" }, t("files.trash"))),
    crumbs,
    h("p", { class: "muted" }, t("files.lead")),
    newFolder, status, list,
    h("h2", {}, t("files.links")), links);

  async function dav(method, url, headers = {}, body) {
    let r;
    try {
      r = await fetch(url, { method, headers, body, credentials: "same-origin" });
    } catch (_) {
      throw new Error(t("error.network"));
    }
    if (r.status === 401) { app.signedOutNow(); throw new Error(t("login.expired")); }
    return r;
  }

  function problem(r, name) {
    if (r.status === 412) return t("files.exists", { name });
    if (r.status === 507) return t("files.full");
    if (r.status === 423) return t("files.locked", { name });
    if (r.status === 403) return t("files.read_only");
    return t("error.generic", { status: r.status });
  }

  async function load() {
    try {
      const r = await dav("PROPFIND", folderUrl, { Depth: "1", "Content-Type": "application/xml" },
        '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/><getlastmodified/></prop></propfind>');
      if (r.status === 404) { list.replaceChildren(h("p", { class: "error", role: "alert" }, t("error.not_found"))); return; }
      if (r.status !== 207) throw new Error(problem(r, ""));
      const doc = new DOMParser().parseFromString(await r.text(), "application/xml");
      const entries = [];
      for (const resp of doc.getElementsByTagNameNS(DAV, "response")) {
        const href = resp.getElementsByTagNameNS(DAV, "href")[0]?.textContent || "";
        const path = new URL(href, location.href).pathname;
        if (path.replace(/\/$/, "") === folderUrl.replace(/\/$/, "")) continue;
        const name = decodeURIComponent(path.replace(/\/$/, "").split("/").pop());
        const isFolder = resp.getElementsByTagNameNS(DAV, "collection").length > 0;
        const size = Number(resp.getElementsByTagNameNS(DAV, "getcontentlength")[0]?.textContent || 0);
        const modified = Date.parse(resp.getElementsByTagNameNS(DAV, "getlastmodified")[0]?.textContent || "");
        entries.push({ name, isFolder, size, modified });
      }
      entries.sort((a, b) => (b.isFolder - a.isFolder) || a.name.localeCompare(b.name));
      if (!entries.length) { list.replaceChildren(h("p", { class: "empty", id: "files-empty" }, t("files.empty"))); return; }
      list.replaceChildren(...entries.map(row));
    } catch (e) {
      list.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  }

  function row(entry) {
    const url = folderUrl + encodeURIComponent(entry.name) + (entry.isFolder ? "/" : "");
    const when = Number.isNaN(entry.modified) ? "" : new Date(entry.modified).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    const link = entry.isFolder
      ? h("a", { href: "#/files/" + enc([...folder, entry.name]), class: "file-name" }, entry.name)
      : h("a", { href: url, download: entry.name, class: "file-name" }, entry.name);
    const rename = h("button", { type: "button", class: "small", "aria-label": t("files.rename_one", { name: entry.name }) }, t("files.rename"));
    const move = h("button", { type: "button", class: "small", "aria-label": t("files.move_one", { name: entry.name }) }, t("files.move"));
    const remove = h("button", { type: "button", class: "small danger", "aria-label": t("files.delete_one", { name: entry.name }) }, t("files.delete"));
    const share = h("button", { type: "button", class: "small", "aria-label": t("files.share_one", { name: entry.name }) }, t("files.share"));
    share.addEventListener("click", () =>
      shareDialog({ path: [...folder, entry.name].join("/") }, app.toast, entry.isFolder ? "folder" : "file").then(loadLinks));
    // A folder comes down as one .zip, written by the box as it is downloaded.
    const zip = entry.isFolder
      ? h("a", { class: "button small file-zip", href: `/api/v1/files/archive?path=${encodeURIComponent([...folder, entry.name].join("/"))}`, download: `${entry.name}.zip`, "aria-label": t("files.download_folder", { name: entry.name }) }, t("files.download_zip"))
      : null;
    const versions = entry.isFolder ? null : h("button", { type: "button", class: "small", "aria-expanded": "false", "aria-label": t("files.versions_of", { name: entry.name }) }, t("files.versions"));
    const item = h("div", { class: "file-row", "data-name": entry.name },
      h("span", { class: "file-kind", "aria-hidden": "true" }, entry.isFolder ? icon("folder") : icon("file")),
      h("span", { class: "file-text" }, link,
        entry.isFolder ? null : h("span", { class: "muted file-meta" }, bytes(entry.size), when ? ` · ${when}` : "")),
      h("span", { class: "file-actions" }, versions, zip, share, rename, move, remove));
    // Earlier versions, listed under the file, each to put back.
    if (versions) versions.addEventListener("click", async () => {
      const open = item.nextElementSibling && item.nextElementSibling.classList.contains("file-versions");
      if (open) { item.nextElementSibling.remove(); versions.setAttribute("aria-expanded", "false"); return; }
      const path = [...folder, entry.name].join("/");
      const box = h("div", { class: "file-versions" }, h("p", { class: "muted" }, t("loading")));
      item.after(box);
      versions.setAttribute("aria-expanded", "true");
      try {
        const list = (await api("GET", `/api/v1/files/versions?path=${encodeURIComponent(path)}`)).versions;
        if (!list.length) { box.replaceChildren(h("p", { class: "muted" }, t("files.no_versions"))); return; }
        box.replaceChildren(h("ul", { class: "plain-list" }, ...list.map((v) => {
          const back = h("button", { type: "button", class: "small" }, t("files.put_back"));
          back.addEventListener("click", async () => {
            back.disabled = true;
            try {
              await api("POST", "/api/v1/files/versions/restore", { path, version: v.version });
              app.toast(t("files.version_back", { name: entry.name }));
              load();
            } catch (e) { app.toast(e.message); back.disabled = false; }
          });
          const date = new Date(v.modified * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
          return h("li", { "data-version": String(v.version) }, h("span", {}, `${date} · ${bytes(v.size)} `), back);
        })));
      } catch (e) {
        box.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
      }
    });
    rename.addEventListener("click", () => {
      const input = h("input", { name: "name", value: entry.name, required: true, "aria-label": t("files.new_name") });
      const form = h("form", { class: "inline-form file-rename" }, input, h("button", { type: "submit", class: "small" }, t("files.save")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const to = input.value.trim();
        if (!to || to === entry.name) { load(); return; }
        if (to.includes("/")) { app.toast(t("files.no_slash")); return; }
        const dest = location.origin + folderUrl + encodeURIComponent(to) + (entry.isFolder ? "/" : "");
        const r = await dav("MOVE", url, { Destination: dest, Overwrite: "F" }).catch((e) => ({ status: 0, error: e }));
        if (r.status === 201 || r.status === 204) { app.toast(t("files.renamed", { name: to })); load(); } else app.toast(r.error ? r.error.message : problem(r, to));
      });
      item.replaceChildren(form);
      input.focus();
    });
    // Into another folder of the files, named by its path ("School/2026"; empty for the top).
    move.addEventListener("click", () => {
      const input = h("input", { name: "folder", value: folder.join("/"), "aria-label": t("files.move_to"), placeholder: t("files.move_to") });
      const form = h("form", { class: "inline-form file-rename" }, input, h("button", { type: "submit", class: "small" }, t("files.move")));
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const to = input.value.split("/").map((n) => n.trim()).filter(Boolean);
        if (to.join("/") === folder.join("/")) { load(); return; }
        const dest = location.origin + base + (to.length ? enc(to) + "/" : "") + encodeURIComponent(entry.name) + (entry.isFolder ? "/" : "");
        const r = await dav("MOVE", url, { Destination: dest, Overwrite: "F" }).catch((e) => ({ status: 0, error: e }));
        if (r.status === 201 || r.status === 204) { app.toast(t("files.moved", { name: entry.name, folder: to.join("/") || t("files.title") })); load(); return; }
        app.toast(r.error ? r.error.message
          : r.status === 409 ? t("files.no_such_folder", { folder: to.join("/") })
          : problem(r, entry.name));
        load();
      });
      item.replaceChildren(form);
      input.focus();
    });
    // Two steps: the first click asks, the second deletes.
    remove.addEventListener("click", async () => {
      if (!remove.dataset.sure) {
        remove.dataset.sure = "1";
        remove.textContent = t("files.delete_sure");
        return;
      }
      remove.disabled = true;
      const r = await dav("DELETE", url).catch((e) => ({ status: 0, error: e }));
      if (r.status === 204) { app.toast(t("files.deleted", { name: entry.name })); load(); } else { app.toast(r.error ? r.error.message : problem(r, entry.name)); remove.disabled = false; }
    });
    return item;
  }

  // The caller's links to files, wherever the items are now, with their downloads.
  async function loadLinks() {
    try {
      const mine = (await api("GET", "/api/v1/shares")).links.filter((l) => l.kind === "files");
      links.replaceChildren(...(mine.length ? mine.map(linkRowOf) : [h("p", { class: "muted" }, t("files.no_links"))]));
    } catch (e) {
      links.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }

  function linkRowOf(l) {
    const bits = [l.file_path === null ? t("files.link_in_trash") : l.file_path, l.description,
      l.allow_download ? t("files.link_downloads", { n: l.download_count }) : null,
      l.allow_upload ? t("files.link_drop") : null];
    const row = linkRow(l, bits, app.toast, loadLinks);
    row.dataset.path = l.file_path || "";
    return row;
  }

  newFolder.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = newName.value.trim();
    if (!name) return;
    if (name.includes("/")) { app.toast(t("files.no_slash")); return; }
    const r = await dav("MKCOL", folderUrl + encodeURIComponent(name) + "/").catch((e) => ({ status: 0, error: e }));
    if (r.status === 201) { newName.value = ""; load(); } else app.toast(r.error ? r.error.message : r.status === 405 ? t("files.exists", { name }) : problem(r, name));
  });

  // Uploads one after the other, each with its progress; a name already here is never replaced.
  fileInput.addEventListener("change", async () => {
    const files = [...fileInput.files];
    fileInput.value = "";
    for (const [i, file] of files.entries()) {
      const r = await new Promise((resolve) => {
        const x = new XMLHttpRequest();
        x.open("PUT", folderUrl + encodeURIComponent(file.name));
        x.setRequestHeader("If-None-Match", "*");
        if (file.lastModified) x.setRequestHeader("X-OC-Mtime", String(Math.floor(file.lastModified / 1000)));
        x.upload.onprogress = (e) => {
          if (e.lengthComputable) status.textContent = t("files.uploading", { name: file.name, n: i + 1, of: files.length, percent: Math.round(e.loaded / e.total * 100) });
        };
        x.onload = () => resolve({ status: x.status });
        x.onerror = () => resolve({ status: 0 });
        x.send(file);
      });
      if (r.status === 401) { app.signedOutNow(); return; }
      if (r.status !== 201) app.toast(r.status === 0 ? t("error.network") : problem(r, file.name));
    }
    status.textContent = files.length ? t("files.uploaded", { n: files.length }) : "";
    load();
  });

  load();
  loadLinks();
}
