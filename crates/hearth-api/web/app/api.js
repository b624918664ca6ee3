// Calls to hearthd's API. Errors carry the server's message and what to do about it; a 401 on
// a protected route means the session ended, and the app takes the user to the login page.
import { t } from "/app/text.js";

export class ApiError extends Error {
  constructor(status, message, guidance) {
    super(message);
    this.status = status;
    this.guidance = guidance;
  }
  // What the family reads.
  get text() { return this.guidance ? `${this.message} — ${this.guidance}` : this.message; }
}

let onSignedOut = () => {};
export function whenSignedOut(f) { onSignedOut = f; }

export async function api(method, path, body, { quietAuth = false } = {}) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, opts);
  } catch (_) {
    throw new ApiError(0, t("error.network"));
  }
  if (r.status === 204) return null;
  let data = null;
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (r.ok) return data;
  if (r.status === 401 && !quietAuth) onSignedOut();
  const e = data && data.error;
  if (e) throw new ApiError(r.status, e.message, e.guidance);
  throw new ApiError(r.status, r.status === 404 ? t("error.not_found") : t("error.generic", { status: r.status }));
}

// Sends a file as the body of a POST, with progress; resolves to {status, data}.
export function send(path, file, onProgress) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open("POST", path);
    x.responseType = "json";
    x.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    x.onload = () => {
      if (x.status === 401) onSignedOut();
      resolve({ status: x.status, data: x.response });
    };
    x.onerror = () => resolve({ status: 0, data: null });
    x.send(file);
  });
}
