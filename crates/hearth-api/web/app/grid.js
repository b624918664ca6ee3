// A grid of photos that opens the viewer over itself (search results, an album, the trash):
// moving left and right goes through this list, not the timeline.
import { h } from "/app/dom.js";
import { t, takenDate, duration } from "/app/text.js";
import { openViewer } from "/app/viewer.js";

export function assetGrid(id, assets, { toast, thumbnail = (a) => `/api/v1/assets/${a.id}/thumbnail`, onRemoved = () => {} }) {
  const grid = h("div", { class: "cells album-cells", id });
  let list = [...assets];
  let viewer = null;
  const close = () => {
    if (!viewer) return;
    const last = viewer.id;
    viewer.remove();
    viewer = null;
    const back = grid.querySelector(`[data-id="${last}"]`);
    if (back) back.focus();
  };
  const neighbour = async (of, step) => {
    const i = list.findIndex((a) => a.id === of);
    return i < 0 ? null : list[i + step] || null;
  };
  const changed = (of, what) => {
    if (what.removed) {
      list = list.filter((a) => a.id !== of);
      const cell = grid.querySelector(`[data-id="${of}"]`);
      if (cell) cell.remove();
      onRemoved(of);
    }
  };
  const open = (a) => {
    viewer = openViewer(a.id, { neighbour, changed, close, toast, navigate: (n) => viewer.show(n.id) });
  };
  for (const a of list) {
    const label = a.kind === "video"
      ? t("photos.video", { duration: duration((a.duration_ms || 0) / 1000) })
      : t("photos.photo_of", { date: takenDate(a.taken_at, a.taken_offset) });
    const b = h("button", { type: "button", class: `cell ${a.kind}`, "data-id": a.id, "aria-label": label },
      a.thumbnails === "failed" ? h("span", { class: "no-preview" }, t("photos.no_preview")) : thumbnailImage(thumbnail(a)));
    b.addEventListener("click", () => open(a));
    grid.append(b);
  }
  return grid;
}

// A thumbnail that may still be in the making (503 for a while): asked again a few times, then
// "No preview" rather than a broken image.
function thumbnailImage(src) {
  const img = h("img", { alt: "", loading: "lazy", src });
  let tries = 0;
  img.addEventListener("error", () => {
    if (++tries < 6) setTimeout(() => { img.src = `${src}${src.includes("?") ? "&" : "?"}try=${tries}`; }, 1500 * tries);
    else img.replaceWith(h("span", { class: "no-preview" }, t("photos.no_preview")));
  });
  return img;
}
