// The timeline: every photo, newest first, under month headings. Its whole height is known
// from the months' counts before any photo is fetched, so each month has its place and size
// from the start (nothing moves as photos arrive) and the page scrolls to any year at once.
// Only months near the screen are in the page, and only months that stay on screen are fetched.
import { api } from "/app/api.js";
import { upload } from "/app/upload.js";
import { h } from "/app/dom.js";
import { t, monthName, takenDate, duration } from "/app/text.js";
import { openViewer } from "/app/viewer.js";
import { shareDialog } from "/app/share.js";

const HEADER = 48; // a month's heading, px
const GAP = 3; // between cells, px
const AFTER = 16; // below a month, px
const SETTLE_MS = 120; // months are fetched once scrolling rests this long
const PAGE = 1000; // assets per request (the API's maximum)

export function render(main, route, app) {
  // `?user=NAME`: a partner's timeline, to look at (their photos are theirs to change).
  const user = route.query.get("user");
  const of = user ? `user=${encodeURIComponent(user)}` : "";
  const status = h("p", { id: "upload-status", class: "muted", role: "status" });
  const progress = h("progress", { id: "upload-progress", hidden: true, "aria-label": t("photos.add") });
  const input = h("input", { id: "upload", type: "file", multiple: true, accept: "image/*,video/*", class: "visually-hidden" });
  const empty = h("p", { class: "empty", hidden: true }, t("photos.empty"), " ", h("a", { href: "#/start" }, t("photos.empty_start")));
  const memories = h("section", { class: "memories", id: "memories", hidden: true, "aria-label": t("memories.title") });
  const timeline = h("div", { id: "timeline", "aria-busy": "true" });
  const scrubber = h("nav", { id: "scrubber", "aria-label": t("photos.jump") });
  const bubble = h("div", { class: "scrub-bubble", "aria-hidden": "true" });
  const selectButton = h("button", { type: "button", id: "select-start", "aria-pressed": "false" }, t("select.start"));
  const count = h("span", { id: "selection-count", role: "status" });
  const selection = h("div", { id: "selection", class: "selection-bar", hidden: true },
    count,
    h("button", { type: "button", id: "selection-album" }, t("albums.choose")),
    h("button", { type: "button", id: "selection-share" }, t("select.share")),
    h("button", { type: "button", id: "selection-trash", class: "danger" }, t("select.trash")),
    h("button", { type: "button", id: "selection-cancel", class: "quiet" }, t("select.cancel")));
  main.append(
    h("div", { class: "page-head" },
      h("h1", {}, user ? h("bdi", {}, t("photos.of", { name: user })) : t("photos.title")),
      user ? h("a", { href: "#/photos", class: "button quiet-link" }, t("photos.mine")) : null,
      user ? null : selectButton,
      user ? null : h("label", { for: "upload", class: "button" }, t("photos.add")),
      input),
    user ? null : h("nav", { class: "photo-tools", "aria-label": t("photos.tools") },
      h("a", { href: "#/search", id: "search-open" }, t("search.open")),
      h("a", { href: "#/people", id: "people-open" }, t("people.open")),
      h("a", { href: "#/map", id: "map-open" }, t("map.open")),
      h("a", { href: "#/duplicates", id: "duplicates-open" }, t("dups.open")),
      h("a", { href: "#/trash", id: "trash-open" }, t("trash.open"))),
    memories, status, progress, empty, timeline, scrubber, bubble, selection);

  const state = {
    months: [], // [{month, count, top, height, el, assets, loading}]
    total: 0,
    cols: 4,
    cell: 100,
    width: 0,
    settle: 0,
    frame: 0,
    gone: false,
  };

  // Thumbnails are asked for when their cell comes within half a screen of the viewport: a
  // browser's own lazy loading reaches much further, and the first screen's thumbnails then
  // queue behind others on the six connections a browser opens to the box.
  const nearby = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      nearby.unobserve(e.target);
      e.target.src = e.target.dataset.src;
    }
  }, { rootMargin: "50% 0px" });

  function layout() {
    const width = timeline.clientWidth;
    if (!width) return;
    const target = width < 600 ? 110 : 180;
    state.width = width;
    state.cols = Math.max(3, Math.round((width + GAP) / (target + GAP)));
    state.cell = (width - GAP * (state.cols - 1)) / state.cols;
    let top = 0;
    for (const m of state.months) {
      const rows = Math.ceil(m.count / state.cols);
      m.top = top;
      m.height = HEADER + rows * state.cell + Math.max(0, rows - 1) * GAP + AFTER;
      top += m.height;
      if (m.el) place(m);
    }
    state.total = top;
    timeline.style.height = `${top}px`;
    drawScrubber();
  }

  function place(m) {
    m.el.style.top = `${m.top}px`;
    m.el.style.height = `${m.height}px`;
    const cells = m.el.querySelector(".cells");
    cells.style.gridTemplateColumns = `repeat(${state.cols}, 1fr)`;
    cells.style.gridAutoRows = `${state.cell}px`;
  }

  // The part of the timeline on screen, in its own coordinates.
  function viewport() {
    const top = window.scrollY - (timeline.getBoundingClientRect().top + window.scrollY);
    return { top, bottom: top + window.innerHeight };
  }

  function update() {
    state.frame = 0;
    if (state.gone) return;
    const { top, bottom } = viewport();
    const margin = window.innerHeight;
    for (const m of state.months) {
      const near = m.top < bottom + margin && m.top + m.height > top - margin;
      const far = m.top > bottom + 3 * margin || m.top + m.height < top - 3 * margin;
      if (near && !m.el) mount(m);
      else if (far && m.el) {
        for (const img of m.el.querySelectorAll("img")) nearby.unobserve(img);
        m.el.remove();
        m.el = null;
      }
    }
    clearTimeout(state.settle);
    state.settle = setTimeout(fetchVisible, SETTLE_MS);
    const label = monthAt(top + 1);
    if (label) bubble.textContent = `${monthName(label.month % 100)} ${Math.floor(label.month / 100)}`;
  }

  function schedule() {
    if (!state.frame) state.frame = requestAnimationFrame(update);
  }

  function monthAt(y) {
    let lo = 0, hi = state.months.length - 1, found = state.months[0];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (state.months[mid].top <= y) { found = state.months[mid]; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  function mount(m) {
    const year = Math.floor(m.month / 100), month = m.month % 100;
    m.el = h("section", { class: "month", "aria-label": `${monthName(month)} ${year}`, "data-month": m.month },
      h("h2", {}, t("photos.month", { month: monthName(month), year }), " ", h("span", { class: "muted" }, t("photos.count", { n: m.count }))),
      h("div", { class: "cells" }));
    place(m);
    if (m.assets) fill(m);
    timeline.append(m.el);
  }

  function fill(m) {
    if (!m.el) return;
    const cells = m.el.querySelector(".cells");
    for (const img of cells.querySelectorAll("img")) nearby.unobserve(img);
    cells.replaceChildren(...m.assets.map(cell));
  }

  function cell(a) {
    const label = a.kind === "video"
      ? t("photos.video", { duration: duration((a.duration_ms || 0) / 1000) })
      : t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) });
    const picked = selected.has(a.id);
    const link = h("a", { href: `#/photos/${a.id}${of ? `?${of}` : ""}`, class: `cell ${a.kind}${picked ? " selected" : ""}`, "aria-label": picked ? `${label} (${t("select.count", { n: 1 })})` : label, "data-id": a.id });
    if (a.thumbnails === "failed") {
      link.append(h("span", { class: "no-preview" }, t("photos.no_preview")));
    } else {
      const img = h("img", { alt: "", decoding: "async", "data-src": `/api/v1/assets/${a.id}/thumbnail` });
      nearby.observe(img);
      // Made by the thumbnail worker soon after arrival (503 until then): ask again a few times,
      // unless the photo's details say it could not be made (a damaged file).
      let tries = 0;
      const noPreview = () => { img.remove(); link.prepend(h("span", { class: "no-preview" }, t("photos.no_preview"))); };
      img.addEventListener("error", async () => {
        if (state.gone) return;
        const now = await api("GET", `/api/v1/assets/${a.id}`).catch(() => null);
        if (now?.thumbnails === "failed" || ++tries >= 20) { noPreview(); return; }
        setTimeout(() => { img.src = `/api/v1/assets/${a.id}/thumbnail?try=${tries}`; }, Math.min(10000, 1000 * tries));
      });
      link.append(img);
    }
    if (a.kind === "video") link.append(h("span", { class: "badge" }, duration((a.duration_ms || 0) / 1000)));
    if (a.favourite) link.append(h("span", { class: "fav", "aria-hidden": "true" }, "♥"));
    return link;
  }

  async function load(m) {
    if (m.assets || m.loading) return m.loading;
    m.loading = (async () => {
      const all = [];
      let after = "";
      for (;;) {
        const page = await api("GET", `/api/v1/timeline/months/${m.month}?limit=${PAGE}${after}${of ? `&${of}` : ""}`);
        all.push(...page.assets);
        if (!page.next || page.assets.length === 0) break;
        after = `&after_taken_at=${page.next[0]}&after_id=${page.next[1]}`;
      }
      m.assets = all;
      // Counts may have changed since the months were listed (photos arriving, trashed).
      if (all.length !== m.count) { m.count = all.length; layout(); }
      fill(m);
    })().catch((e) => { m.loading = null; app.toast(e.text || String(e)); });
    return m.loading;
  }

  function fetchVisible() {
    if (state.gone) return;
    const { top, bottom } = viewport();
    // At least a pixel of it on screen: a jump lands on a month's top, and with fractional
    // scroll positions (a phone's 2x or 3x pixels) the month above may overlap by a fraction.
    for (const m of state.months) {
      if (m.top < bottom - 1 && m.top + m.height > top + 1) load(m);
    }
  }

  function drawScrubber() {
    scrubber.replaceChildren();
    if (!state.total) return;
    let lastYear = null;
    for (const m of state.months) {
      const year = Math.floor(m.month / 100);
      if (year === lastYear) continue;
      lastYear = year;
      const b = h("button", { type: "button", class: "year", "data-year": year, onclick: () => jump(m) }, String(year));
      b.style.top = `${(m.top / state.total) * 100}%`;
      scrubber.append(b);
    }
  }

  function jump(m) {
    window.scrollTo({ top: timeline.getBoundingClientRect().top + window.scrollY + m.top, behavior: "instant" });
  }

  // Dragging along the scrubber scrolls the same share of the timeline.
  let dragging = false;
  const drag = (ev) => {
    const r = scrubber.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
    bubble.classList.add("shown");
    bubble.style.top = `${ev.clientY}px`;
    window.scrollTo({ top: timeline.getBoundingClientRect().top + window.scrollY + share * state.total, behavior: "instant" });
  };
  scrubber.addEventListener("pointerdown", (ev) => {
    if (ev.target.closest(".year")) return;
    dragging = true;
    scrubber.setPointerCapture(ev.pointerId);
    drag(ev);
  });
  scrubber.addEventListener("pointermove", (ev) => dragging && drag(ev));
  const stop = () => { dragging = false; bubble.classList.remove("shown"); };
  scrubber.addEventListener("pointerup", stop);
  scrubber.addEventListener("pointercancel", stop);

  // New photos (from a phone's folder, another browser) show up while the page is open: the
  // month counts are asked for again now and then, and the timeline is laid out anew only when
  // they changed.
  let seen = "";
  let memoriesShown = Promise.resolve();
  async function refreshMonths() {
    const { months } = await api("GET", `/api/v1/timeline/months${of ? `?${of}` : ""}`);
    // The memories above the timeline are in place first: the timeline never moves for them.
    await memoriesShown;
    const now = JSON.stringify(months);
    if (now === seen) return;
    seen = now;
    const old = new Map(state.months.map((m) => [m.month, m]));
    for (const m of state.months) if (m.el) m.el.remove();
    state.months = months.map((m) => {
      const before = old.get(m.month);
      // A month whose count changed is fetched again.
      return { month: m.month, count: m.count, top: 0, height: 0, el: null, assets: before && before.count === m.count ? before.assets : null, loading: null };
    });
    empty.hidden = state.months.length > 0;
    layout();
    timeline.setAttribute("aria-busy", "false");
    update();
    fetchVisible();
  }

  // Neighbours for the viewer, across months (fetching the next month when needed).
  async function neighbour(id, step) {
    let i = state.months.findIndex((m) => m.assets && m.assets.some((a) => a.id === id));
    if (i < 0) {
      // Opened from a link into a month not on screen yet: load the photo's month first (its
      // local month, as the box files it).
      const a = await api("GET", `/api/v1/assets/${id}`).catch(() => null);
      if (!a || a.taken_at == null) return null;
      const local = new Date((a.taken_at + (a.taken_offset ?? 0) * 60) * 1000);
      const month = local.getUTCFullYear() * 100 + local.getUTCMonth() + 1;
      i = state.months.findIndex((m) => m.month === month);
      if (i < 0) return null;
      await load(state.months[i]);
      if (!state.months[i].assets || !state.months[i].assets.some((x) => x.id === id)) return null;
    }
    let m = state.months[i];
    let j = m.assets.findIndex((a) => a.id === id) + step;
    while (j < 0 || j >= m.assets.length) {
      i += step;
      if (i < 0 || i >= state.months.length) return null;
      m = state.months[i];
      await load(m);
      if (!m.assets) return null;
      j = step > 0 ? 0 : m.assets.length - 1;
    }
    return m.assets[j];
  }

  function changed(id, what) {
    for (const m of state.months) {
      const a = m.assets && m.assets.find((x) => x.id === id);
      if (!a) continue;
      if (what.removed) {
        m.assets = m.assets.filter((x) => x.id !== id);
        m.count = m.assets.length;
        layout();
      } else Object.assign(a, what);
      fill(m);
    }
  }

  input.addEventListener("change", async () => {
    const files = [...input.files];
    input.value = "";
    let done = 0, duplicates = 0;
    const failed = [];
    const total = files.reduce((n, f) => n + f.size, 0) || 1;
    let before = 0;
    progress.max = total;
    progress.value = 0;
    progress.hidden = false;
    for (const [i, f] of files.entries()) {
      status.textContent = t("photos.sending", { i: i + 1, n: files.length, name: f.name });
      try {
        const r = await upload(f, (sent) => { progress.value = before + sent; });
        if (r.duplicate) duplicates++; else done++;
      } catch (e) {
        if (e.status === 401) { app.signedOutNow(); return; }
        failed.push(`${f.name}: ${e.message}`);
      }
      before += f.size;
      progress.value = before;
    }
    progress.hidden = true;
    status.textContent = t("photos.sent", { done, duplicates, failed: failed.join("; ") });
    refreshMonths().catch((e) => app.toast(e.text || String(e)));
  });

  // Choosing photos: in this mode a tap marks a photo instead of opening it.
  const selected = new Set();
  let selecting = false;
  function setSelecting(on) {
    selecting = on;
    if (!on) selected.clear();
    selectButton.setAttribute("aria-pressed", String(on));
    selection.hidden = !on;
    document.body.classList.toggle("selecting", on);
    count.textContent = t("select.count", { n: selected.size });
    for (const m of state.months) if (m.el && m.assets) fill(m);
  }
  selectButton.addEventListener("click", () => setSelecting(!selecting));
  timeline.addEventListener("click", (ev) => {
    if (!selecting) return;
    const cellEl = ev.target.closest(".cell");
    if (!cellEl) return;
    ev.preventDefault();
    const id = Number(cellEl.dataset.id);
    if (selected.has(id)) selected.delete(id); else selected.add(id);
    cellEl.classList.toggle("selected", selected.has(id));
    count.textContent = t("select.count", { n: selected.size });
  });
  selection.querySelector("#selection-cancel").addEventListener("click", () => setSelecting(false));
  selection.querySelector("#selection-share").addEventListener("click", () => {
    if (selected.size) shareDialog({ assets: [...selected] }, app.toast).then(() => setSelecting(false));
  });
  selection.querySelector("#selection-trash").addEventListener("click", async () => {
    const ids = [...selected];
    let n = 0;
    for (const id of ids) {
      try { await api("POST", `/api/v1/assets/${id}/trash`); n++; changed(id, { removed: true }); } catch (e) { app.toast(e.text); }
    }
    app.toast(t("select.trashed", { n }));
    setSelecting(false);
  });
  selection.querySelector("#selection-album").addEventListener("click", async () => {
    if (!selected.size) return;
    let albums = [];
    try { ({ albums } = await api("GET", "/api/v1/albums")); } catch (e) { app.toast(e.text); return; }
    const choice = h("select", { id: "album-choice" },
      albums.filter((a) => a.role !== "viewer").map((a) => h("option", { value: a.id }, a.title)),
      h("option", { value: "" }, t("albums.new")));
    choice.value = albums.length ? choice.value : "";
    const title = h("input", { id: "album-new-title", maxlength: "200" });
    const titleBox = h("div", { hidden: !!choice.value }, h("label", { for: "album-new-title" }, t("albums.new_title")), title);
    choice.addEventListener("change", () => { titleBox.hidden = !!choice.value; });
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", { class: "inline-form", id: "album-form" },
      h("label", { for: "album-choice" }, t("albums.choose")), choice, titleBox,
      h("button", { type: "submit", class: "primary" }, t("albums.choose")), error);
    const cancel = h("button", { type: "button", class: "quiet" }, t("select.cancel"));
    const dialog = h("dialog", { class: "sheet", "aria-label": t("albums.choose") }, form, cancel);
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const ids = [...selected];
      try {
        if (choice.value) {
          await api("PUT", `/api/v1/albums/${choice.value}/assets`, { ids });
          app.toast(t("albums.added", { n: ids.length, title: choice.selectedOptions[0].textContent }));
        } else {
          const a = await api("POST", "/api/v1/albums", { title: title.value.trim(), assets: ids });
          app.toast(t("albums.added", { n: ids.length, title: a.title }));
        }
        dialog.close();
        setSelecting(false);
      } catch (e) { error.textContent = e.text || String(e); }
    });
    document.body.append(dialog);
    dialog.showModal();
  });

  let viewer = null;
  function showViewer(r) {
    const id = Number(r.parts[0]);
    if (r.parts.length && Number.isInteger(id) && id > 0) {
      if (viewer) viewer.show(id);
      else viewer = openViewer(id, {
        neighbour, changed, toast: app.toast, readOnly: !!user,
        close: () => app.go(`#/photos${of ? `?${of}` : ""}`),
        navigate: (n) => location.replace(`#/photos/${n.id}${of ? `?${of}` : ""}`),
      });
    } else if (viewer) {
      const last = viewer.id;
      viewer.remove();
      viewer = null;
      const back = timeline.querySelector(`[data-id="${last}"]`);
      if (back) back.focus({ preventScroll: false });
    }
  }

  const recount = setInterval(() => {
    if (!document.hidden && !viewer) refreshMonths().catch(() => {});
  }, 10000);
  const onResize = () => { layout(); schedule(); };
  window.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", onResize);
  // On this day in earlier years, above the timeline: asked for with the first months and
  // shown before them, so the timeline does not move when it arrives.
  async function showMemories() {
    const now = new Date();
    const date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
    const found = await api("GET", `/api/v1/memories?date=${date}`).catch(() => ({ memories: [] }));
    memories.replaceChildren(...found.memories.map((m) => {
      const first = m.assets[0];
      const b = h("button", { type: "button", class: "memory", "data-year": m.year },
        h("img", { alt: "", src: `/api/v1/assets/${first.id}/thumbnail`, loading: "lazy" }),
        h("span", {}, t("memories.years", { n: m.years_ago })));
      b.addEventListener("click", () => {
        const list = m.assets;
        const near = async (of, s) => { const i = list.findIndex((a) => a.id === of); return i < 0 ? null : list[i + s] || null; };
        let v = null;
        v = openViewer(first.id, { neighbour: near, changed: () => {}, close: () => v && v.remove(), toast: app.toast, navigate: (n) => v.show(n.id) });
      });
      return b;
    }));
    memories.hidden = !found.memories.length;
  }

  memoriesShown = user ? Promise.resolve() : showMemories();
  refreshMonths().then(() => showViewer(route)).catch((e) => app.toast(e.text || String(e)));

  return {
    // Another person's timeline is another page.
    update: (r) => (r.query.get("user") === user ? showViewer(r) : false),
    leave() {
      state.gone = true;
      nearby.disconnect();
      clearInterval(recount);
      clearTimeout(state.settle);
      window.removeEventListener("scroll", schedule);
      window.removeEventListener("resize", onResize);
      if (viewer) viewer.remove();
    },
  };
}
