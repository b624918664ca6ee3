// The map: where the family's photos were taken. Clusters far out, single photos (their
// thumbnails) close in, asked from the box for what is in view. With no internet it draws the
// world's land from Natural Earth (carried in the app); nothing is fetched from elsewhere.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";
import { openViewer } from "/app/viewer.js";

export function render(main, route, app) {
  const box = h("div", { id: "map", role: "region", "aria-label": t("map.label") });
  const status = h("p", { class: "muted", id: "map-status", role: "status" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("map.title"))), status, box);
  const css = h("link", { rel: "stylesheet", href: "/app/vendor/leaflet.css" });
  let gone = false, map = null, markers = null, viewer = null, asked = 0;

  (async () => {
    // Leaflet only on this page: the first screen of the app does not carry it.
    css.href = import.meta.resolve("/app/vendor/leaflet.css");
    document.head.append(css);
    const L = await import("/app/vendor/leaflet.js");
    const [land, settings] = await Promise.all([
      fetch(import.meta.resolve("/app/vendor/world-land.json")).then((r) => r.json()),
      api("GET", "/api/v1/box").catch(() => ({})),
    ]);
    if (gone) return;
    map = L.map(box, { worldCopyJump: true, zoomSnap: 1, minZoom: 1, maxZoom: 18, attributionControl: true });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution(t("map.credit"));
    // The outline is always drawn, so the map still shows the world when the tile server cannot
    // be reached; the family's tile server, when they chose one, draws over it.
    L.geoJSON(unwrapped(land), { interactive: false, style: { color: "#8a7f72", weight: 1, fillColor: "#e9e3da", fillOpacity: 1 } }).addTo(map);
    if (settings.map_tiles) L.tileLayer(settings.map_tiles, { maxZoom: 19, attribution: t("map.tiles_credit") }).addTo(map);
    markers = L.layerGroup().addTo(map);
    map.setView([30, 10], 2);
    map.on("moveend", () => show(L));
    // Start where the photos are.
    const all = await api("GET", "/api/v1/map/markers?zoom=0");
    if (gone) return;
    if (!all.markers.length) status.textContent = t("map.none");
    // One place: close enough in that its photos show one by one.
    else if (all.markers.length === 1) map.setView([all.markers[0].latitude, all.markers[0].longitude], 13);
    else map.fitBounds(all.markers.map((m) => [m.latitude, m.longitude]), { padding: [40, 40], maxZoom: 12 });
    show(L);
  })().catch((e) => app.toast(e.text || String(e)));

  async function show(L) {
    const mine = ++asked;
    const b = map.getBounds();
    const zoom = map.getZoom();
    const q = `zoom=${zoom}&south=${b.getSouth().toFixed(5)}&west=${Math.max(-180, b.getWest()).toFixed(5)}&north=${b.getNorth().toFixed(5)}&east=${Math.min(180, b.getEast()).toFixed(5)}`;
    let found;
    try { found = await api("GET", `/api/v1/map/markers?${q}`); } catch (e) { app.toast(e.text); return; }
    if (gone || mine !== asked) return;
    markers.clearLayers();
    for (const m of found.markers) {
      const single = m.asset_id != null;
      const size = single ? 56 : Math.min(64, 28 + Math.round(Math.log2(m.count) * 6));
      const html = document.createElement("div");
      if (single) {
        html.className = "map-photo";
        html.append(h("img", { alt: "", src: `/api/v1/assets/${m.asset_id}/thumbnail` }));
      } else {
        html.className = "map-cluster";
        html.textContent = m.count.toLocaleString();
      }
      const icon = L.divIcon({ html, className: "map-icon", iconSize: [size, size] });
      const label = single ? t("map.photo") : t("photos.count", { n: m.count });
      const marker = L.marker([m.latitude, m.longitude], { icon, title: label, alt: label, keyboard: true });
      marker.on("click", () => {
        if (single) viewer = openViewer(m.asset_id, { neighbour: async () => null, changed: () => {}, close: closeViewer, toast: app.toast, navigate: () => {} });
        else map.setView([m.latitude, m.longitude], Math.min(map.getZoom() + 3, 18));
      });
      markers.addLayer(marker);
      const el = marker.getElement();
      if (el) { el.dataset.count = m.count; if (single) el.dataset.id = m.asset_id; }
    }
  }

  function closeViewer() {
    if (viewer) { viewer.remove(); viewer = null; }
  }

  return {
    leave() {
      gone = true;
      closeViewer();
      if (map) map.remove();
      css.remove();
    },
  };
}

// Natural Earth's land is one multipolygon whose rings cross the antimeridian (Chukotka, Fiji):
// a ring stepping from 180° to -180° would be drawn as a line across the whole flat map. Each
// such step is unwrapped by a turn, so the ring goes on past 180° as the coast does, and the
// ring is then moved by whole turns so most of it lies within -180°..180°. A ring around a pole
// (Antarctica: it crosses once) is left as it is; its steps are along the pole, off the map.
function unwrapped(land) {
  const ring = (points) => {
    let shift = 0;
    const out = points.map(([lon, lat], i) => {
      if (i > 0) {
        const step = lon - points[i - 1][0];
        if (step > 180) shift -= 360;
        else if (step < -180) shift += 360;
      }
      return [lon + shift, lat];
    });
    if (shift !== 0) return points;
    const west = out.filter(([lon]) => lon < -180).length, east = out.filter(([lon]) => lon > 180).length;
    const turn = west * 2 > out.length ? 360 : east * 2 > out.length ? -360 : 0;
    return turn ? out.map(([lon, lat]) => [lon + turn, lat]) : out;
  };
  const polygons = (g) => (g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []);
  const fix = (g) => ({ type: "MultiPolygon", coordinates: polygons(g).map((p) => p.map(ring)) });
  if (land.type === "FeatureCollection") return { ...land, features: land.features.map((f) => ({ ...f, geometry: fix(f.geometry) })) };
  if (land.type === "Feature") return { ...land, geometry: fix(land.geometry) };
  return fix(land);
}
