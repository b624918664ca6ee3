// Faces in pictures: a face cut out of its photo's thumbnail (CSS, no new image), and the
// "who is this?" choice that fixes one face's person (docs/ml.md: a face placed by hand stays
// where the family put it when the box groups faces again).
import { api } from "/app/api.js";
import { h } from "/app/dom.js";
import { t } from "/app/text.js";

export function faceCrop(face) {
  const el = h("span", { class: "face-crop", role: "img", "aria-label": t("people.face") });
  if (!face) return el;
  const [x, y, w, height] = face.box;
  const side = Math.max(w, height, 0.01);
  el.style.backgroundImage = `url("/api/v1/assets/${face.asset_id}/thumbnail")`;
  el.style.backgroundSize = `${100 / w}% ${100 / height}%`;
  const at = (pos, size) => (size >= 1 ? 0 : (pos / (1 - size)) * 100);
  el.style.backgroundPosition = `${at(x, w)}% ${at(y, height)}%`;
  el.dataset.side = String(side);
  return el;
}

// One row per face: its crop and a list of who it could be (the family's people, someone new,
// nobody to group). Choosing sends PUT /api/v1/faces/{id}/person and calls `changed`.
export function whoIsThis(faces, people, { toast, changed }) {
  return faces.map((f, i) => {
    const id = `face-${f.id}`;
    const choice = h("select", { id, "data-face": f.id },
      f.person_id == null ? h("option", { value: "" }, t("faces.nobody_yet")) : null,
      ...people.map((p) => h("option", { value: `person:${p.id}` }, p.name || t("people.unnamed_with", { n: p.assets }))),
      h("option", { value: "new" }, t("faces.someone_else")),
      h("option", { value: "nobody" }, t("faces.nobody")));
    choice.value = f.person_id == null ? "" : `person:${f.person_id}`;
    choice.addEventListener("change", async () => {
      const v = choice.value;
      const body = v === "new" ? { new_person: true } : v === "nobody" ? { nobody: true } : v ? { person_id: Number(v.slice(7)) } : null;
      if (!body) return;
      try {
        await api("PUT", `/api/v1/faces/${f.id}/person`, body);
        toast(t("faces.moved"));
        changed();
      } catch (e) { toast(e.text || String(e)); }
    });
    return h("div", { class: "face-fix" }, faceCrop(f), h("label", { for: id }, t("faces.who", { n: i + 1 })), choice);
  });
}
