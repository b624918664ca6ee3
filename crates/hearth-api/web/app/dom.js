// Building elements: h("button", {type: "button", onclick}, "text", child…). Attributes that
// are properties of the element (textContent, hidden, value) are set as properties; `on…`
// become listeners; the rest are attributes. Text is always text, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else if (k === "textContent" || k === "value") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A button that acts on its second click: the first shows `sure` (what will happen) in its place.
// `action` runs with the button disabled; when it throws, `failed(error)` is told and the button
// is enabled again.
export function twice(button, sure, action, failed) {
  button.addEventListener("click", async () => {
    if (!button.dataset.sure) { button.dataset.sure = "1"; button.textContent = sure; return; }
    button.disabled = true;
    try { await action(); } catch (e) { failed(e); button.disabled = false; }
  });
}

// A labelled input: the label's `for` names the input, so screen readers say what it is.
export function field(id, label, attrs = {}) {
  return [h("label", { for: id }, label), h("input", { id, name: id, ...attrs })];
}
