// Searching by meaning on a phone, with an image/text model the family provided (the colour
// model the Rust side builds): "a red one" finds the red photo first though no file name, place or
// tag says red; the viewer opens from those results; a search the model cannot place still shows
// the words' results; the Box page says why the board's NPU is not used. Nothing overflows the phone's width and any error in the console fails.
// Usage: node search_meaning.mjs URL NAME PASSWORD SCREENSHOT_DIR RED_ID GREEN_ID
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, redId, greenId] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const expectedFailure = (r) => (r.status() === 401 && r.url().endsWith("/api/v1/me"))
  // The colour model has no direction for a sentence without a colour: the search says so.
  || (r.status() === 400 && r.url().includes("/api/v1/search/meaning"));

await runOnPhone("search-meaning", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in, search for a sentence no word of the library matches");
  await logIn(page, url, name, password);
  await page.goto(url + "#/search?q=" + encodeURIComponent("a red one"));
  const cells = page.locator("#search-meaning-grid .cell");
  await cells.nth(2).waitFor({ timeout: 10000 });
  await page.locator("#search-none").waitFor({ timeout: 10000 });
  const title = await page.locator("#search-meaning-title").textContent();
  if (!title.includes("a red one")) fail(`the section's title: ${title}`);
  const first = await cells.first().getAttribute("data-id");
  if (first !== redId) fail(`the first picture is ${first}, the red one is ${redId}`);
  if (await page.locator("#search-meaning-partial").count()) fail("every photo has its vector, yet the page says some are not looked at");
  await fits("search by meaning");
  await shot("search-meaning");

  step("the viewer opens over those results and steps through them");
  await cells.first().click();
  await page.locator(".viewer").waitFor({ timeout: 10000 });
  await page.keyboard.press("Escape");
  await page.locator(".viewer").waitFor({ state: "detached", timeout: 10000 });

  step("the search box: green");
  await page.fill("#search-text", "green");
  await page.click("#search-form button[type=submit]");
  await page.waitForURL((u) => u.hash.includes("q=green"), { timeout: 10000 });
  await page.waitForFunction((id) => document.querySelector("#search-meaning-grid .cell")?.getAttribute("data-id") === id, greenId, { timeout: 10000 });

  step("a sentence the model cannot place: the word results stand, the page says why");
  await page.goto(url + "#/search?q=" + encodeURIComponent("holiday"));
  await page.locator("#search-meaning-error").waitFor({ timeout: 10000 });
  if (await page.locator("#search-meaning-grid").count()) fail("pictures shown for a sentence the model gave no vector");
  await fits("search by meaning failed");

  step("the Box page says where photo analysis runs, and why not on the NPU");
  await page.goto(url + "#/box");
  const npu = page.locator("#ml-npu-problem");
  await npu.waitFor({ timeout: 10000 });
  if (!(await npu.textContent()).includes("/nonexistent/librknnrt.so")) fail(`the NPU's reason: ${await npu.textContent()}`);
  if (!(await page.locator("#ml-backend").textContent()).includes("processor")) fail("the CPU is not named as where analysis runs");
  await fits("the Box page");
  await shot("box-ml-status");
});
