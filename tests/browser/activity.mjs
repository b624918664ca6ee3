// The box's page while a backlog of thumbnails drains: the activity panel, fed by server-sent
// events, shows the jobs left going down to nothing. The page is opened first; then a folder of
// photos joins the library (all its thumbnail jobs queued at once).
// Usage: node activity.mjs URL NAME PASSWORD FOLDER SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, name, password, folder, shots] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const login = await context.request.post(new URL("/api/v1/auth/login", url).href, { data: { name, password } });
  if (!login.ok()) fail(`login: ${login.status()}`);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(new URL("/#/box", url).href);
  await page.locator("#jobs-idle").waitFor({ timeout: 15000 });
  // Every value the panel shows for jobs left, as it shows it.
  await page.evaluate(() => {
    window.__left = [];
    new MutationObserver(() => {
      const j = document.querySelector('#jobs .job[data-kind="thumbnails"]');
      const v = j ? Number(j.dataset.left) : 0;
      if (window.__left[window.__left.length - 1] !== v) window.__left.push(v);
    }).observe(document.getElementById("jobs"), { childList: true, subtree: true, attributes: true });
  });
  const added = await context.request.post(new URL("/api/v1/photos/libraries", url).href, { data: { user: name, path: folder } });
  if (!added.ok()) fail(`adding the library: ${added.status()} ${await added.text()}`);
  await page.locator('#jobs .job[data-kind="thumbnails"]').waitFor({ timeout: 30000 });
  if (shots) await page.screenshot({ path: `${shots}/activity-desktop.png` });
  await page.locator("#jobs-idle").waitFor({ timeout: 180000 });
  const left = await page.evaluate(() => window.__left);
  const requests = await page.evaluate(() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/v1/")).length);
  console.log(JSON.stringify({ left, requests, problems }));
} finally {
  await browser.close();
}
