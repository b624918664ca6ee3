// Albums: the list (owned and shared with the caller), one album's photos, its share links
// (made and revoked here) and deleting it. Photos are added from the timeline's selection.
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";
import { shareDialog, linkRow } from "/app/share.js";
import { assetGrid } from "/app/grid.js";

export function render(main, route, app) {
  if (route.parts[0]) return album(main, Number(route.parts[0]), app);
  const list = h("div", { id: "albums", class: "album-grid" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, t("albums.title"))), list);
  api("GET", "/api/v1/albums").then(({ albums }) => {
    if (!albums.length) { list.replaceChildren(h("p", { class: "empty" }, t("albums.empty"))); return; }
    list.replaceChildren(...albums.map((a) => h("a", { class: "album-card", href: `#/albums/${a.id}`, "data-album": a.id },
      a.cover_asset_id ? coverImage(a.cover_asset_id) : h("span", { class: "no-cover" }),
      h("span", { class: "album-title" }, h("bdi", {}, a.title)),
      h("span", { class: "muted" }, t("photos.count", { n: a.asset_count })))));
  }).catch((e) => app.toast(e.text || String(e)));
}

function album(main, id, app) {
  const title = h("h1", {}, "");
  const grid = h("div", { id: "album-assets" });
  const links = h("div", { id: "album-links" });
  const share = h("button", { type: "button", class: "primary", id: "album-share", hidden: true }, t("albums.share"));
  const remove = h("button", { type: "button", class: "small danger", id: "album-delete", hidden: true }, t("albums.delete"));
  const members = h("ul", { id: "album-members", class: "plain-list" });
  const memberForm = h("form", { id: "add-member", class: "inline-form", hidden: true },
    h("label", { for: "member-name" }, t("albums.add_member")),
    h("input", { id: "member-name", required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false" }),
    h("select", { id: "member-role", "aria-label": t("albums.member_role", { name: "" }) },
      h("option", { value: "viewer" }, t("albums.viewer")), h("option", { value: "editor" }, t("albums.editor"))),
    h("button", { type: "submit", class: "primary" }, t("albums.add_member_submit")),
    h("p", { class: "error", role: "alert" }));
  main.append(h("div", { class: "page-head" }, h("a", { href: "#/albums", class: "back" }, t("albums.all")), title, share), grid,
    h("section", { class: "card" }, h("h2", {}, t("albums.members")), members, memberForm),
    h("section", { class: "card" }, h("h2", {}, t("albums.links")), links), remove);
  memberForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = memberForm.querySelector("#member-name").value.trim();
    const error = memberForm.querySelector(".error");
    error.textContent = "";
    try {
      await api("PUT", `/api/v1/albums/${id}/members/${encodeURIComponent(name)}`, { role: memberForm.querySelector("#member-role").value });
      memberForm.reset();
      app.toast(t("albums.member_added", { name }));
      load();
    } catch (e) { error.textContent = e.text; }
  });

  async function load() {
    try {
      const a = await api("GET", `/api/v1/albums/${id}`);
      title.replaceChildren(h("bdi", {}, a.title));
      title.classList.toggle("long", [...a.title].length > 24);
      const owner = a.role === "owner", editor = owner || a.role === "editor";
      share.hidden = !editor;
      remove.hidden = !owner;
      memberForm.hidden = !owner;
      members.replaceChildren(...(a.members.length ? a.members.map((m) => {
        const role = h("select", { "aria-label": t("albums.member_role", { name: m.user }), disabled: !owner },
          h("option", { value: "viewer", selected: m.role === "viewer" }, t("albums.viewer")),
          h("option", { value: "editor", selected: m.role === "editor" }, t("albums.editor")));
        role.addEventListener("change", () => api("PUT", `/api/v1/albums/${id}/members/${encodeURIComponent(m.user)}`, { role: role.value }).catch((e) => app.toast(e.text)));
        const out = h("button", { type: "button", class: "small danger", hidden: !owner }, t("albums.remove_member"));
        out.addEventListener("click", async () => {
          try { await api("DELETE", `/api/v1/albums/${id}/members/${encodeURIComponent(m.user)}`); } catch (e) { app.toast(e.text); }
          load();
        });
        return h("li", { "data-member": m.user }, h("bdi", {}, m.user), " ", role, " ", out);
      }) : [h("li", { class: "muted" }, t("albums.no_members"))]));
      const assets = [];
      let after = "";
      for (;;) {
        const page = await api("GET", `/api/v1/albums/${id}/assets?limit=1000${after}`);
        assets.push(...page.assets);
        if (!page.next || !page.assets.length) break;
        after = `&after_taken_at=${page.next[0]}&after_id=${page.next[1]}`;
      }
      grid.replaceChildren(assetGrid("album-grid", assets, { toast: app.toast }));
      if (!assets.length) grid.replaceChildren(h("p", { class: "muted" }, t("albums.no_photos")));
      const { links: all } = await api("GET", "/api/v1/shares");
      const mine = all.filter((l) => l.album_id === id);
      links.replaceChildren(...(mine.length ? mine.map(linkRowOf) : [h("p", { class: "muted" }, t("albums.no_links"))]));
    } catch (e) {
      main.replaceChildren(h("p", { class: "error", role: "alert" }, e.text || String(e)));
    }
  }

  const linkRowOf = (l) => linkRow(l, [l.description || t("albums.link"), l.allow_upload ? t("albums.uploads_allowed") : null], app.toast, load);

  share.addEventListener("click", () => shareDialog({ album_id: id }, app.toast).then(load));
  remove.addEventListener("click", async () => {
    if (!confirm(t("albums.delete_confirm"))) return;
    try { await api("DELETE", `/api/v1/albums/${id}`); app.go("#/albums"); } catch (e) { app.toast(e.text); }
  });
  load();
}

// An album's cover: its first photo's thumbnail, or the empty cover when it has none to show.
function coverImage(id) {
  const img = h("img", { alt: "", src: `/api/v1/assets/${id}/thumbnail`, loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "no-cover" })), { once: true });
  return img;
}
