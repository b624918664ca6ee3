// A QR code image of `text`, drawn by the box (POST /api/v1/qr); the image's address is a blob
// of this page, so nothing leaves the page and the policy needs no inline images.
import { t } from "/app/text.js";

export async function qrImage(text, label) {
  const r = await fetch("/api/v1/qr", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  if (!r.ok) throw new Error(t("error.generic", { status: r.status }));
  const img = document.createElement("img");
  img.className = "qr";
  img.alt = label;
  img.width = 220;
  img.height = 220;
  img.src = URL.createObjectURL(await r.blob());
  img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
  return img;
}
