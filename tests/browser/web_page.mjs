// The web page in a real browser: claim the box, see the services, add photos and see their
// thumbnails, log out, fail a login, log in.
// Usage: node web_page.mjs http://127.0.0.1:PORT/ SCREENSHOT_DIR PHOTO NOT_A_PHOTO
import { chromium } from "playwright-core";

const [url, shots, photo, notPhoto] = process.argv.slice(2);
if (!url) {
  console.error("usage: node web_page.mjs URL [SCREENSHOT_DIR]");
  process.exit(2);
}
const fail = (msg) => { throw new Error(msg); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.locator("#claim").waitFor({ state: "visible", timeout: 10000 });
  if (await page.locator("#claim-code-box").isVisible()) fail("the setup code is asked for on the box's own network");

  // A too-short password gets the server's message on the page.
  await page.fill("#claim-name", "anna");
  await page.fill("#claim-password", "short");
  await page.evaluate(() => document.getElementById("claim-password").removeAttribute("minlength"));
  await page.click("#claim button[type=submit]");
  await page.locator("#claim-error").filter({ hasText: "at least 8" }).waitFor({ timeout: 10000 });

  await page.fill("#claim-password", "anna-long-password");
  await page.click("#claim button[type=submit]");
  await page.locator("#home").waitFor({ state: "visible", timeout: 10000 });
  if ((await page.textContent("#me-name")) !== "anna") fail("home page greets the owner");
  await page.locator("#services tr").first().waitFor({ timeout: 10000 });
  const services = await page.locator("#services tr td:first-child").allTextContents();
  if (!services.includes("api")) fail(`services listed: ${services}`);
  if (shots) await page.screenshot({ path: `${shots}/home.png` });

  // Photos: a JPEG and a text file chosen at once; the photo shows up in the grid once the
  // thumbnail worker has made its thumbnail (a real image, decoded by the browser).
  if (photo) {
    await page.setInputFiles("#upload", [photo, notPhoto]);
    await page.locator("#upload-status").filter({ hasText: "1 added; not added:" }).waitFor({ timeout: 20000 });
    const status = await page.textContent("#upload-status");
    if (!status.includes("list.jpg: this is not a photo")) fail(`the text file's reason is shown: ${status}`);
    if (status.includes("/data/")) fail(`no server paths in what the family reads: ${status}`);
    await page.waitForFunction(() => {
      const img = document.querySelector("#timeline .grid img");
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 60000 });
    const heading = await page.textContent("#timeline h4");
    if (!heading.startsWith("July 2024")) fail(`the month of the photo: ${heading}`);
    if (shots) await page.screenshot({ path: `${shots}/photos.png` });
  }

  // The session cookie is HttpOnly: scripts on the page cannot read it.
  const visible = await page.evaluate(() => document.cookie);
  if (visible.includes("hearth_session")) fail("the session cookie is readable from JavaScript");

  await page.click("#logout");
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", "anna");
  await page.fill("#login-password", "wrong-password");
  await page.click("#login button[type=submit]");
  await page.locator("#login-error").filter({ hasText: "wrong user name or password" }).waitFor({ timeout: 10000 });
  await page.fill("#login-password", "anna-long-password");
  await page.click("#login button[type=submit]");
  await page.locator("#home").waitFor({ state: "visible", timeout: 10000 });

  // A reload keeps the session.
  await page.reload();
  await page.locator("#home").waitFor({ state: "visible", timeout: 10000 });
  if (shots) await page.screenshot({ path: `${shots}/after-login.png` });
  console.log("web page: claim, photos, logout, login ok");
} finally {
  await browser.close();
}
