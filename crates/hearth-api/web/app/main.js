// The app's shell: who is signed in, the bar, and which page shows for the address after `#`.
// Pages are modules with `render(main, route, app)` that return a `leave()` to call when the
// address moves on.
import { api, whenSignedOut } from "/app/api.js";
import { t } from "/app/text.js";
import { closeViewers } from "/app/viewer.js";

const $ = (id) => document.getElementById(id);
const app = {
  me: null,
  setup: null,
  // Shows a short message at the bottom of the screen.
  toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.classList.add("shown");
    clearTimeout(app.toastTimer);
    app.toastTimer = setTimeout(() => box.classList.remove("shown"), 5000);
  },
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
};

const PAGES = {
  welcome: () => import("/app/pages/welcome.js"),
  login: () => import("/app/pages/welcome.js"),
  photos: () => import("/app/pages/photos.js"),
  box: () => import("/app/pages/box.js"),
  devices: () => import("/app/pages/devices.js"),
  family: () => import("/app/pages/family.js"),
  about: () => import("/app/pages/about.js"),
  start: () => import("/app/pages/start.js"),
  backups: () => import("/app/pages/backups.js"),
  updates: () => import("/app/pages/updates.js"),
  disks: () => import("/app/pages/disks.js"),
  albums: () => import("/app/pages/albums.js"),
  people: () => import("/app/pages/people.js"),
  search: () => import("/app/pages/search.js"),
  trash: () => import("/app/pages/trash.js"),
  files: () => import("/app/pages/files.js"),
  "login-flow": () => import("/app/pages/login-flow.js"),
  "files-trash": () => import("/app/pages/files-trash.js"),
  map: () => import("/app/pages/map.js"),
  duplicates: () => import("/app/pages/duplicates.js"),
  s: () => import("/app/pages/shared.js"),
  calendars: () => import("/app/pages/calendars.js"),
};
const NAV = [["photos", "nav.photos"], ["albums", "nav.albums"], ["files", "nav.files"], ["devices", "nav.devices"], ["family", "nav.family"], ["box", "nav.box"]];

function parse(hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "photos", parts: parts.slice(1), query: new URLSearchParams(query), hash };
}

let current = null; // { name, module, leave }

async function route() {
  const r = parse(location.hash);
  // A share link's page and About are for anyone; the rest needs someone signed in.
  if (!app.me && !["welcome", "login", "about", "s"].includes(r.page)) {
    const next = location.hash && location.hash !== "#/" ? `?next=${encodeURIComponent(location.hash)}` : "";
    location.replace(`#/${app.setup && !app.setup.claimed ? "welcome" : "login"}${next}`);
    return;
  }
  if (app.me && (r.page === "welcome" || r.page === "login")) {
    location.replace(r.query.get("next") || "#/photos");
    return;
  }
  const load = PAGES[r.page] || PAGES.photos;
  const name = PAGES[r.page] ? r.page : "photos";
  bar();
  // The same page takes a new address itself (the viewer over the timeline).
  if (current && current.name === name && current.update && current.update(r) !== false) return;
  if (current && current.leave) current.leave();
  closeViewers();
  const module = await load();
  const main = $("content");
  main.replaceChildren();
  current = { name, ...(module.render(main, r, app) || {}) };
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

// The bar is always there (its height never moves the page); the tabs and the account button
// only for someone signed in.
function bar() {
  $("nav").hidden = !app.me;
  $("account").hidden = !app.me;
  if (!app.me) return;
  if (!$("nav").childElementCount) {
    for (const [page, key] of NAV) {
      const a = document.createElement("a");
      a.href = `#/${page}`;
      a.dataset.page = page;
      a.textContent = t(key);
      $("nav").append(a);
    }
  }
  const account = $("account");
  account.textContent = t("account.logout");
  account.title = t("account.signed_in_as", { name: app.me.display_name || app.me.name });
  account.dataset.name = app.me.name;
}

$("account").addEventListener("click", async () => {
  try { await api("POST", "/api/v1/auth/logout", undefined, { quietAuth: true }); } catch (_) { /* gone either way */ }
  app.me = null;
  app.go("#/login");
});

// The session ended mid-use: log in again, then come back here.
app.signedOutNow = () => {
  if (!app.me) return;
  app.me = null;
  app.sessionEnded = true;
  location.replace(`#/login?next=${encodeURIComponent(location.hash)}`);
};
whenSignedOut(() => {
  if (!app.me) return;
  app.me = null;
  app.sessionEnded = true;
  location.replace(`#/login?next=${encodeURIComponent(location.hash)}`);
});

// Who is signed in: called at start and after logging in or claiming.
app.signedIn = async () => {
  try {
    app.me = await api("GET", "/api/v1/me", undefined, { quietAuth: true });
  } catch (_) {
    app.me = null;
  }
  return app.me;
};

async function start() {
  // Both at once: a signed-in visit should not wait for one and then the other.
  const [setup] = await Promise.all([api("GET", "/api/v1/setup").catch(() => null), app.signedIn()]);
  if (!setup) {
    $("content").replaceChildren(Object.assign(document.createElement("p"), { className: "error", role: "alert", textContent: t("app.offline") }));
    return;
  }
  app.setup = setup;
  window.addEventListener("hashchange", route);
  route();
}
start();
export { app };
