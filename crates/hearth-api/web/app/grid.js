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
      a.thumbnails === "failed" ? h("span", { class: "no-preview" }, t("photos.no_preview")) : h("img", { alt: "", loading: "lazy", src: thumbnail(a) }));
    b.addEventListener("click", () => open(a));
    grid.append(b);
  }
  return grid;
}
