// The web app with what families really have: an empty box, a damaged photo whose thumbnail
// cannot be made, a phone video to play and seek, and names in right-to-left script with emoji,
// far longer than a screen is wide. No page shows a server path or overflows the phone's width,
// and any error in the browser's console fails the test.
// Usage: node odd_input.mjs URL NAME PASSWORD SCREENSHOT_DIR DAMAGED_PHOTO VIDEO PHOTO
import { chromium } from "playwright-core";

const [url, name, password, shots, damaged, video, photo] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const problems = [];
let lastPage = null;
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  lastPage = page;
  page.on("console", (m) => {
    // 401: who is signed in, asked before logging in; 503: a thumbnail asked for before it is
    // made (the page asks again); 404: the thumbnails of the damaged photo, which could not be
    // made (the page shows that, the viewer falls back).
    const expected = /Failed to load resource: the server responded with a status of (401|404|503)\b/;
    if (m.type() === "error" && !expected.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const ranges = [];
  page.on("response", (r) => { if (/\/api\/v1\/assets\/\d+\/original/.test(r.url())) ranges.push([r.status(), r.request().headers().range || ""]); });
  const shot = async (n) => { if (shots) await page.screenshot({ path: `${shots}/${n}.png` }); };
  const fitsTheScreen = async (where) => {
    const [wide, screen] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (wide > screen) fail(`${where} is ${wide} px wide on a ${screen} px phone`);
    const text = await page.evaluate(() => document.body.innerText);
    if (/\/(tmp|data|var|home|root)\//.test(text) || /panicked|stack backtrace|at [\w.]+ \(/.test(text)) fail(`${where} shows a path or a trace: ${text.slice(0, 300)}`);
  };

  step("log in to a box with no photos");
  await page.goto(url);
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.locator(".empty").waitFor({ state: "visible", timeout: 10000 });
  if (!(await page.locator('.empty a[href="#/start"]').count())) fail("an empty timeline points to getting started");
  await fitsTheScreen("the empty timeline");
  for (const [hash, sel] of [["#/search?q=beach", "#search-none"], ["#/albums", "#albums .empty"], ["#/trash", ".empty"], ["#/duplicates", ".empty"], ["#/files", "#files-empty"], ["#/files/no%20such%20folder", "#files .error"]]) {
    await page.goto(url + hash);
    await page.locator(sel).first().waitFor({ state: "visible", timeout: 10000 });
    await fitsTheScreen(hash);
  }
  await page.goto(url + "#/map");
  await page.locator("#map-status").filter({ hasText: "No photo has a position" }).waitFor({ timeout: 15000 });
  await shot("odd-empty-map");

  step("a damaged photo, a phone video and a photo, added from the browser");
  await page.goto(url + "#/photos");
  await page.locator(".empty").waitFor({ state: "visible", timeout: 10000 });
  await page.setInputFiles("#upload", [damaged, video, photo]);
  await page.locator("#upload-status").filter({ hasText: "3 added" }).waitFor({ timeout: 60000 });
  // The damaged photo is kept and shown as having no preview; the others get theirs.
  await page.locator("#timeline .cell .no-preview").first().waitFor({ timeout: 60000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#timeline .cell img")].filter((i) => i.complete && i.naturalWidth > 0).length >= 2, null, { timeout: 60000 });
  await fitsTheScreen("the timeline");
  await shot("odd-timeline");

  step("the damaged photo in the viewer: what can be shown, never a broken image");
  await page.locator("#timeline .cell", { has: page.locator(".no-preview") }).first().click();
  await page.locator(".viewer").waitFor({ state: "visible", timeout: 10000 });
  await page.waitForFunction(() => {
    const problem = document.querySelector(".viewer .viewer-problem");
    const img = document.querySelector(".viewer .stage img");
    return problem || (img && img.complete && img.naturalWidth > 0);
  }, null, { timeout: 20000 });
  const broken = await page.evaluate(() => { const i = document.querySelector(".viewer .stage img"); return !!i && i.complete && i.naturalWidth === 0; });
  if (broken) fail("the viewer shows a broken image");
  await shot("odd-damaged-viewer");
  await page.keyboard.press("Escape");
  await page.locator(".viewer").waitFor({ state: "hidden", timeout: 10000 });

  step("the video plays and seeks (the original in byte ranges)");
  await page.locator("#timeline .cell", { has: page.locator(".badge") }).first().click();
  const player = page.locator(".viewer video");
  await player.waitFor({ timeout: 10000 });
  await page.waitForFunction(() => { const v = document.querySelector(".viewer video"); return v && v.readyState >= 1 && v.duration > 0; }, null, { timeout: 20000 });
  const length = await player.evaluate((v) => v.duration);
  if (!(length > 2.5 && length < 5)) fail(`the video's length: ${length}`);
  await player.evaluate((v) => { v.muted = true; return v.play().catch(() => {}); });
  await player.evaluate((v) => new Promise((done) => { v.addEventListener("seeked", done, { once: true }); v.currentTime = v.duration - 1; }));
  await page.waitForFunction(() => { const v = document.querySelector(".viewer video"); return v && v.readyState >= 2 && v.currentTime >= v.duration - 1.2; }, null, { timeout: 20000 });
  if (!ranges.some(([status, range]) => status === 206 && range.startsWith("bytes="))) fail(`the video came in ranges: ${JSON.stringify(ranges)}`);
  await shot("odd-video");
  await page.keyboard.press("Escape");
  await page.locator(".viewer").waitFor({ state: "hidden", timeout: 10000 });

  step("an album named in Arabic with emoji, far wider than the phone");
  const title = "رحلة العائلة إلى الشاطئ في الصيف 🏖️🌊👨‍👩‍👧‍👦 ".repeat(4).trim();
  await page.click("#select-start");
  for (const cell of await page.locator("#timeline .cell").all()) await cell.click();
  await page.click("#selection-album");
  await page.locator("#album-form").waitFor({ timeout: 10000 });
  await page.selectOption("#album-choice", "");
  await page.fill("#album-new-title", title);
  await page.click("#album-form button[type=submit]");
  await page.locator("#album-form").waitFor({ state: "detached", timeout: 10000 });
  await page.goto(url + "#/albums");
  await page.locator("#albums .album-card").first().waitFor({ timeout: 10000 });
  await fitsTheScreen("the albums page");
  await shot("odd-albums");
  await page.locator("#albums .album-card").first().click();
  await page.locator("#album-assets .cell").first().waitFor({ timeout: 15000 });
  const heading = await page.textContent("h1");
  if (heading.trim() !== title) fail(`the album's title as typed: ${heading}`);
  await fitsTheScreen("the album page");
  await shot("odd-album-long-title");

  if (problems.length) fail(problems.join("\n"));
  console.log("odd input: empty box, damaged photo, video seek, long right-to-left titles");
} catch (e) {
  // What the page showed when it went wrong, to look at.
  if (shots && lastPage) await lastPage.screenshot({ path: `${shots}/odd-failure.png` }).catch(() => {});
  throw e;
} finally {
  await browser.close();
}
