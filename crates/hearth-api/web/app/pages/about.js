// About Hearth, and the credits its data asks for.
import { h } from "/app/dom.js";
import { t } from "/app/text.js";

export function render(main) {
  main.append(h("section", { class: "card narrow" },
    h("h1", {}, t("about.title")),
    h("p", {}, t("about.lead")),
    h("p", { class: "muted", id: "credits" }, t("about.places"))));
}
