// A timeline of 100,000 photos at a phone's size: how long the first screen takes after
// navigation (every cell on screen showing its thumbnail; the fastest of three cold opens),
// which months a jump five years back fetches, and the page's cumulative layout shift. Prints one JSON line; the Rust test judges.
// Usage: node timeline_scale.mjs URL NAME PASSWORD [SCREENSHOT_DIR]
import { chromium } from "playwright-core";

const [url, name, password, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  // Each attempt is a cold open: a new context (no cache, no connections), logged in by its
  // cookie. The first screen is timed three times and the fastest counts: what the box and the
  // page can do, with less of whatever else the machine was doing at that moment.
  const problems = [];
  const months = [];
  async function open() {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
    const login = await context.request.post(new URL("/api/v1/auth/login", url).href, { data: { name, password } });
    if (!login.ok()) throw new Error(`login: ${login.status()}`);
    const page = await context.newPage();
    page.on("pageerror", (e) => problems.push(e.message));
    months.length = 0;
    page.on("request", (r) => {
      const m = /\/api\/v1\/timeline\/months\/(\d{6})/.exec(r.url());
      if (m) months.push(Number(m[1]));
    });
    await page.addInitScript(() => {
      window.__cls = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
      }).observe({ type: "layout-shift", buffered: true });
    });
    await page.goto(new URL("/#/photos", url).href);
    await page.waitForFunction(screenShown, null, { polling: "raf", timeout: 60000 });
    const ms = await page.evaluate(() => performance.now());
    return { context, page, ms };
  }
  // Every cell on screen shows its thumbnail.
  const screenShown = () => {
    const cells = [...document.querySelectorAll("#timeline .cell")].filter((c) => {
      const r = c.getBoundingClientRect();
      return r.bottom > 0 && r.top < innerHeight;
    });
    return cells.length > 0 && cells.every((c) => { const i = c.querySelector("img"); return i && i.complete && i.naturalWidth > 0; });
  };
  const onScreenMonths = () => [...document.querySelectorAll("#timeline .month")].filter((s) => {
    const r = s.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight;
  }).map((s) => Number(s.dataset.month));

  const attemptsMs = [];
  let opened = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (opened) await opened.context.close();
    opened = await open();
    attemptsMs.push(Math.round(opened.ms * 10) / 10);
  }
  const { page } = opened;
  const firstScreenMs = Math.min(...attemptsMs);
  const firstMonths = [...months];
  // What the (last) first screen waited for: [path, start ms, end ms] of the app's files and API calls.
  const firstRequests = await page.evaluate(() => performance.getEntriesByType("resource")
    .filter((e) => !e.name.includes("/thumbnail"))
    .map((e) => [e.name.replace(location.origin, ""), Math.round(e.startTime), Math.round(e.responseEnd)]));
  const thumbnails = await page.evaluate(() => {
    const t = performance.getEntriesByType("resource").filter((e) => e.name.includes("/thumbnail"));
    return { count: t.length, first_start: Math.round(Math.min(...t.map((e) => e.startTime))), last_end: Math.round(Math.max(...t.map((e) => e.responseEnd))) };
  });
  if (shots) await page.screenshot({ path: `${shots}/timeline-100k-phone.png` });

  // Five years back with the scrubber's year button, once the first screen has asked for all
  // it will (on a loaded machine a second month on the first screen may be asked for after it
  // showed; that request belongs to the first screen, not to the jump).
  for (let stable = 0, seen = -1; stable < 8; ) {
    await page.waitForTimeout(100);
    stable = months.length === seen ? stable + 1 : 0;
    seen = months.length;
  }
  const newest = Math.floor(firstMonths[0] / 100);
  const before = months.length;
  await page.click(`#scrubber .year[data-year="${newest - 5}"]`);
  await page.waitForFunction(screenShown, null, { polling: "raf", timeout: 60000 });
  // Give a late fetch the chance to show itself: the page asks once scrolling rests.
  await page.waitForTimeout(600);
  const jumpMonths = months.slice(before);
  const jumpOnScreen = await page.evaluate(onScreenMonths);
  if (shots) await page.screenshot({ path: `${shots}/timeline-100k-jump-phone.png` });
  const cls = await page.evaluate(() => window.__cls);
  const cells = await page.evaluate(() => document.querySelectorAll("#timeline .cell").length);

  // A link straight to a photo eight years back, opened in a fresh page: the arrows move to the
  // next photo although its month was never on screen.
  const old = `${newest - 8}06`;
  const oldPage = await (await page.request.get(new URL(`/api/v1/timeline/months/${old}`, url).href)).json();
  const oldId = oldPage.assets[Math.floor(oldPage.assets.length / 2)].id;
  const linked = await page.context().newPage();
  await linked.goto(new URL(`/#/photos/${oldId}`, url).href);
  await linked.locator(".viewer").waitFor({ state: "visible", timeout: 20000 });
  await linked.keyboard.press("ArrowRight");
  await linked.waitForFunction((id) => location.hash.startsWith("#/photos/") && location.hash !== `#/photos/${id}`, oldId, { timeout: 20000 });
  const deepLinkMoved = await linked.evaluate(() => location.hash);
  await linked.close();
  console.log(JSON.stringify({ firstScreenMs, attemptsMs, firstRequests, thumbnails, firstMonths, jumpMonths, jumpOnScreen, cls, cells, deepLinkMoved, problems }));
} finally {
  await browser.close();
}
