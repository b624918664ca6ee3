// Uploads by the tus 1.0.0 protocol (POST /api/v1/uploads, then PATCH the bytes in parts): a
// dropped connection, a phone that sleeps or a page that is reloaded goes on from the last byte
// that arrived. Where an upload stands is kept in this browser under the file's name, size and
// date, so choosing the same file again resumes it.
import { t } from "/app/text.js";

const PART = 8 << 20; // bytes per PATCH
const TRIES = 6; // attempts per part before giving up
const TUS = { "Tus-Resumable": "1.0.0" };

export class UploadError extends Error {}

function key(file) {
  return `hearth.upload:${file.name}:${file.size}:${file.lastModified}`;
}

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function errorOf(r) {
  try { const body = await r.json(); if (body.error) return body.error.message; } catch (_) { /* none */ }
  return t("error.generic", { status: r.status });
}

// One PATCH through XMLHttpRequest: fetch cannot report upload progress.
function patch(url, offset, part, onSent) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open("PATCH", url);
    x.setRequestHeader("Tus-Resumable", "1.0.0");
    x.setRequestHeader("Upload-Offset", String(offset));
    x.setRequestHeader("Content-Type", "application/offset+octet-stream");
    x.upload.onprogress = (e) => onSent(e.loaded);
    x.onload = () => resolve(x);
    x.onerror = () => resolve(null);
    x.send(part);
  });
}

// Where the box's copy of an upload stands: {offset, asset, duplicate}, or null when it has none.
async function where(url) {
  const r = await fetch(url, { method: "HEAD", headers: TUS, credentials: "same-origin" });
  if (!r.ok) return null;
  return { offset: Number(r.headers.get("Upload-Offset")), asset: r.headers.get("Hearth-Asset-Id"), duplicate: r.headers.get("Hearth-Duplicate") === "true" };
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

// Sends `file`; `onProgress(bytes sent)` as it goes. Resolves to {id, duplicate}; rejects with
// an UploadError saying why the box refused it. A 401 rejects with status 401.
export async function upload(file, onProgress = () => {}) {
  let url = localStorage.getItem(key(file));
  let offset = 0;
  if (url) {
    const known = await where(url).catch(() => null);
    if (known && known.asset) { localStorage.removeItem(key(file)); return { id: Number(known.asset), duplicate: known.duplicate }; }
    if (known) offset = known.offset; else url = null;
  }
  if (!url) {
    const r = await fetch("/api/v1/uploads", {
      method: "POST",
      credentials: "same-origin",
      headers: { ...TUS, "Upload-Length": String(file.size), "Upload-Metadata": `filename ${base64(file.name)}` },
    });
    if (r.status === 401) throw Object.assign(new UploadError(t("login.expired")), { status: 401 });
    if (r.status !== 201) throw new UploadError(await errorOf(r));
    url = r.headers.get("Location");
    localStorage.setItem(key(file), url);
  }
  onProgress(offset);
  for (let tries = 0; ;) {
    const part = file.slice(offset, offset + PART);
    const x = await patch(url, offset, part, (sent) => onProgress(offset + sent));
    if (x && x.status === 204) {
      offset = Number(x.getResponseHeader("Upload-Offset"));
      tries = 0;
      const asset = x.getResponseHeader("Hearth-Asset-Id");
      if (asset || offset >= file.size) {
        localStorage.removeItem(key(file));
        return { id: Number(asset), duplicate: x.getResponseHeader("Hearth-Duplicate") === "true" };
      }
      continue;
    }
    if (x && x.status === 401) throw Object.assign(new UploadError(t("login.expired")), { status: 401 });
    if (x && x.status >= 400 && x.status < 500 && x.status !== 409) {
      localStorage.removeItem(key(file));
      let message = t("error.generic", { status: x.status });
      try { message = JSON.parse(x.responseText).error.message; } catch (_) { /* not JSON */ }
      throw new UploadError(message);
    }
    // The connection broke, the box was busy (409) or restarting: ask where it stands, go on.
    if (++tries > TRIES) throw new UploadError(t("error.network"));
    await wait(Math.min(8000, 500 * 2 ** tries));
    const known = await where(url).catch(() => null);
    if (!known) { localStorage.removeItem(key(file)); throw new UploadError(t("upload.lost")); }
    if (known.asset) { localStorage.removeItem(key(file)); return { id: Number(known.asset), duplicate: known.duplicate }; }
    offset = known.offset;
  }
}
