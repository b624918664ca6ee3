// A phone-sized Chromium page for the browser tests: errors in the page and failed requests are
// collected as problems (a test decides which answers it expects), screenshots go to a folder.
import { chromium } from "playwright-core";

export async function openPhone(shots, { expectedFailure = () => false } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const problems = [];
  // Failed loads are judged by their responses below, not by the console's echo of them.
  page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource|net::ERR_/.test(m.text())) problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400 && !expectedFailure(r)) problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
  });
  page.on("dialog", (d) => d.accept());
  const shot = async (name) => { if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }); };
  const fits = async (where) => {
    const [wide, screen] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    if (wide > screen) throw new Error(`${where} is ${wide} px wide on a ${screen} px phone`);
  };
  return { browser, page, problems, shot, fits };
}

// Log in from the login page the app shows a signed-out visitor, and wait for the timeline.
export async function logIn(page, url, name, password) {
  await page.goto(url);
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/photos"), null, { timeout: 10000 });
}

// Run `steps(phone)`; print "ok", or the error, the problems and a screenshot named `name-failure`.
export async function runOnPhone(name, shots, options, steps) {
  let phone = null;
  try {
    phone = await openPhone(shots, options);
    await steps(phone);
    if (phone.problems.length) throw new Error(phone.problems.join("\n"));
    console.log("ok");
  } catch (e) {
    if (phone) { try { await phone.shot(`${name}-failure`); } catch (_) { /* the page is gone */ } }
    console.error(e.message || e);
    if (phone && phone.problems.length) console.error(phone.problems.join("\n"));
    process.exitCode = 1;
  } finally {
    if (phone) await phone.browser.close();
  }
}
