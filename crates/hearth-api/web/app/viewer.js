// One photo or video at a time, over the timeline: swipe or arrow keys to move, double-tap or
// the zoom button to look closer (then the original, when the browser can show its format),
// the info panel, favourite, archive, trash, download.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { icon } from "/app/icons.js";
import { t, takenDate, bytes } from "/app/text.js";

// Formats every browser shows; others (HEIC) are seen through the large thumbnail.
const SHOWN = new Set(["jpeg", "png", "webp"]);

// Every viewer on screen: a page that is left takes its viewers with it (closeViewers), whether
// the timeline opened them by address or a grid over itself.
const shown = new Set();

export function closeViewers() {
  for (const v of [...shown]) v.remove();
}

// `navigate(asset)` moves to another photo: by default through the address (the timeline's
// viewer is `#/photos/ID`); a grid elsewhere shows it in place.
export function openViewer(firstId, { neighbour, changed, close, toast, navigate = (n) => location.replace(`#/photos/${n.id}`), readOnly = false }) {
  const stage = h("div", { class: "stage" });
  const info = h("aside", { class: "info", id: "viewer-info", hidden: true, "aria-label": t("viewer.info") });
  const button = (cls, label, symbol, onclick) =>
    h("button", { type: "button", class: `icon ${cls}`, "aria-label": label, title: label, onclick }, icon(symbol));
  const fav = button("favourite", t("viewer.favourite"), "heart", () => toggle("favourite"));
  const archive = button("archive", t("viewer.archive"), "archive", () => toggle("archived"));
  const download = h("a", { class: "icon download", "aria-label": t("viewer.download"), title: t("viewer.download"), download: "" }, icon("download"));
  const prev = button("prev", t("viewer.previous"), "back", () => step(-1));
  const next = button("next", t("viewer.next"), "next", () => step(1));
  const root = h("div", { class: "viewer", role: "dialog", "aria-modal": "true", "aria-label": t("viewer.label"), tabindex: "-1" },
    h("div", { class: "viewer-bar" },
      button("close", t("viewer.close"), "back", () => close()),
      h("span", { class: "spacer" }),
      button("zoom", t("viewer.zoom"), "zoom", () => zoom()),
      button("info-toggle", t("viewer.info"), "info", () => { info.hidden = !info.hidden; }),
      fav, archive, download,
      button("trash", t("viewer.trash"), "trash", () => trash())),
    stage, prev, next, info);
  // Someone else's photo (a partner's timeline): to look at and download, not to change.
  if (readOnly) for (const b of [fav, archive, root.querySelector(".trash")]) b.hidden = true;
  document.body.append(root);
  document.body.classList.add("viewing");
  root.focus();

  let current = null; // the asset's details
  let zoomed = false;
  let token = 0;

  async function show(id) {
    const mine = ++token;
    viewer.id = id;
    zoomed = false;
    stage.classList.remove("zoomed");
    let a;
    try {
      a = await api("GET", `/api/v1/assets/${id}`);
    } catch (e) {
      if (mine === token) stage.replaceChildren(h("p", { class: "error", role: "alert" }, e.text));
      return;
    }
    if (mine !== token) return;
    current = a;
    const large = `/api/v1/assets/${id}/thumbnail?size=1440`;
    let media;
    if (a.kind === "video") {
      media = h("video", { controls: true, playsinline: true, preload: "metadata", poster: large, src: `/api/v1/assets/${id}/original` });
    } else {
      media = h("img", { alt: t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) }), src: large, decoding: "async" });
      media.addEventListener("error", () => {
        // The large thumbnail may not be made yet, or may have failed: the original when the
        // browser can show it; when nothing can, say so and offer the download.
        if (SHOWN.has(a.format) && !media.dataset.original) { media.dataset.original = "1"; media.src = `/api/v1/assets/${id}/original`; }
        else if (mine === token) stage.replaceChildren(h("p", { class: "no-preview viewer-problem", role: "status" }, t("viewer.cannot_show")));
      }, { once: false });
    }
    stage.replaceChildren(media);
    download.href = `/api/v1/assets/${id}/original`;
    marks();
    fillInfo(a);
    // Preload the neighbours' large thumbnails: moving on is instant.
    for (const s of [1, -1]) neighbour(id, s).then((n) => { if (n && n.kind !== "video") new Image().src = `/api/v1/assets/${n.id}/thumbnail?size=1440`; }).catch(() => {});
  }

  function marks() {
    fav.setAttribute("aria-pressed", String(!!current.favourite));
    label(fav, current.favourite ? t("viewer.unfavourite") : t("viewer.favourite"));
    archive.setAttribute("aria-pressed", String(!!current.archived));
    label(archive, current.archived ? t("viewer.unarchive") : t("viewer.archive"));
  }

  function label(el, text) {
    el.title = text;
    el.setAttribute("aria-label", text);
  }

  function fillInfo(a) {
    const rows = [];
    const row = (k, v) => v && rows.push(h("dt", {}, k), h("dd", {}, v));
    row(t("viewer.taken"), takenDate(a.taken_at, a.taken_offset));
    row(t("viewer.camera"), [a.make, a.model].filter(Boolean).join(" ") + (a.lens ? ` · ${a.lens}` : ""));
    row(t("viewer.place"), [a.city, a.region, a.country].filter(Boolean).join(", "));
    if (a.latitude != null && a.longitude != null) row(t("viewer.position"), `${a.latitude.toFixed(5)}, ${a.longitude.toFixed(5)}`);
    const name = (a.path || "").split("/").pop();
    row(t("viewer.file"), `${name} · ${t("viewer.size", { w: a.width ?? "?", h: a.height ?? "?", bytes: bytes(a.size_bytes) })}`);
    const list = h("dl", {}, rows);
    info.replaceChildren(h("h2", {}, t("viewer.info")), list);
    if (a.metadata_error) info.append(h("p", { class: "muted" }, t("viewer.problem", { problem: a.metadata_error })));
    if (!readOnly) recognised(a.id, token, list);
  }

  // Who and what the box recognised in the photo (docs/ml.md): the people's names lead to their
  // photos, the words to a search for them (the viewer steps aside for the page the link opens).
  // Missing while the ML worker has not got to it yet.
  async function recognised(id, mine, list) {
    const [faces, tags] = await Promise.all([
      api("GET", `/api/v1/assets/${id}/faces`).catch(() => null),
      api("GET", `/api/v1/assets/${id}/tags`).catch(() => null),
    ]);
    if (mine !== token) return;
    const people = new Map();
    for (const f of faces?.faces || []) if (f.person_id != null && f.person_name) people.set(f.person_id, f.person_name);
    if (people.size) {
      const links = [...people].map(([pid, name]) => h("a", { href: `#/people/${pid}`, class: "tag", onclick: () => viewer.remove() }, name));
      list.append(h("dt", { class: "recognised" }, t("viewer.people")), h("dd", { class: "tags recognised", id: "viewer-people" }, links));
    }
    // A face the box put with the wrong person (or none) is fixed here, one face at a time; the
    // family's people are asked for only when this is opened.
    if (faces?.faces?.length) {
      const fix = h("details", { id: "viewer-faces" }, h("summary", {}, t("faces.fix", { n: faces.faces.length })));
      fix.addEventListener("toggle", async () => {
        if (!fix.open || fix.dataset.loaded) return;
        fix.dataset.loaded = "1";
        try {
          // Loaded here, not with the viewer: the timeline's first screen waits for every module
          // the viewer imports.
          const [{ people: all }, { whoIsThis }] = await Promise.all([api("GET", "/api/v1/people?hidden=true"), import("/app/faces.js")]);
          if (mine !== token) return;
          fix.append(...whoIsThis(faces.faces, all, {
            toast,
            changed: () => { if (mine === token) { list.querySelectorAll(".recognised").forEach((e) => e.remove()); fix.remove(); recognised(id, mine, list); } },
          }));
        } catch (e) { fix.append(h("p", { class: "error" }, e.text || String(e))); }
      });
      list.after(fix);
    }
    const words = tags?.tags || [];
    if (words.length) {
      const links = words.map((w) => h("a", { href: `#/search?${new URLSearchParams({ q: w.tag })}`, class: "tag", onclick: () => viewer.remove() }, w.tag));
      list.append(h("dt", { class: "recognised" }, t("viewer.things")), h("dd", { class: "tags recognised", id: "viewer-things" }, links));
    }
  }

  // From the photo asked for last (its details may still be on their way).
  // Steps run one after another, each from the photo the last one chose: the address changes
  // at once but the page hears of it a task later, so a quick second key press would otherwise
  // step again from the photo still on screen.
  let stepping = Promise.resolve();
  function step(s) {
    stepping = stepping.then(async () => {
      const n = await neighbour(viewer.id, s);
      // Closed meanwhile (the family went elsewhere): the step no longer leads anywhere.
      if (!n || !shown.has(viewer)) return;
      viewer.id = n.id;
      navigate(n);
    }).catch((e) => toast(e.text || String(e)));
    return stepping;
  }

  async function toggle(what) {
    if (!current) return;
    const value = !current[what];
    try {
      await api("PATCH", `/api/v1/assets/${current.id}`, { [what]: value });
      current[what] = value;
      marks();
      if (what === "archived" && value) { changed(current.id, { removed: true }); close(); } else changed(current.id, { [what]: value });
    } catch (e) { toast(e.text); }
  }

  async function trash() {
    if (!current) return;
    const id = current.id;
    const n = (await neighbour(id, 1).catch(() => null)) || (await neighbour(id, -1).catch(() => null));
    try {
      await api("POST", `/api/v1/assets/${id}/trash`);
      toast(t("viewer.trashed"));
      changed(id, { removed: true });
      if (n) navigate(n); else close();
    } catch (e) { toast(e.text); }
  }

  function zoom(ev) {
    const media = stage.firstElementChild;
    if (!media || media.tagName !== "IMG") return;
    zoomed = !zoomed;
    stage.classList.toggle("zoomed", zoomed);
    if (zoomed) {
      if (SHOWN.has(current.format)) media.src = `/api/v1/assets/${current.id}/original`;
      const r = media.getBoundingClientRect();
      const x = ev ? (ev.clientX - r.left) / r.width : 0.5, y = ev ? (ev.clientY - r.top) / r.height : 0.5;
      media.style.transformOrigin = `${x * 100}% ${y * 100}%`;
    } else {
      media.style.transformOrigin = "";
      media.style.translate = "";
    }
  }

  // Swipes move to the next or previous photo; when zoomed, dragging pans instead.
  let start = null;
  stage.addEventListener("pointerdown", (ev) => { start = { x: ev.clientX, y: ev.clientY, t: Date.now(), pan: zoomed ? (stage.firstElementChild?.style.translate || "0px 0px").split(" ").map(parseFloat) : null }; });
  stage.addEventListener("pointermove", (ev) => {
    if (!start || !start.pan) return;
    const media = stage.firstElementChild;
    media.style.translate = `${start.pan[0] + ev.clientX - start.x}px ${(start.pan[1] || 0) + ev.clientY - start.y}px`;
  });
  stage.addEventListener("pointerup", (ev) => {
    if (!start) return;
    const dx = ev.clientX - start.x, dy = ev.clientY - start.y;
    const wasPan = start.pan;
    start = null;
    if (wasPan) return;
    if (Math.abs(dx) > 50 && Math.abs(dx) > Math.abs(dy) * 1.5) step(dx < 0 ? 1 : -1);
  });
  stage.addEventListener("dblclick", (ev) => zoom(ev));
  // On the document, not the viewer: when what had the focus goes away (the faces panel drawn
  // again after a change), keys still reach the viewer rather than the page under it.
  const onKey = (ev) => {
    if (ev.defaultPrevented || ev.target.closest("input, textarea, dialog")) return;
    // A list takes its own arrows and letters; Escape still closes.
    if (ev.target.closest("select") && ev.key !== "Escape") return;
    if (ev.key === "ArrowRight") step(1);
    else if (ev.key === "ArrowLeft") step(-1);
    else if (ev.key === "Escape") close();
    else if (ev.key === "i") info.hidden = !info.hidden;
    else if (ev.key === "f") toggle("favourite");
    else return;
    ev.preventDefault();
  };
  document.addEventListener("keydown", onKey);

  const viewer = {
    id: firstId,
    show,
    remove() {
      token++;
      document.removeEventListener("keydown", onKey);
      root.remove();
      shown.delete(viewer);
      if (!shown.size) document.body.classList.remove("viewing");
    },
  };
  shown.add(viewer);
  show(firstId);
  return viewer;
}
