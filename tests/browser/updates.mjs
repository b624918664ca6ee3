// The Updates page as the owner uses it on a phone: the running version, a bundle file that was
// tampered with refused with its reason, the update channel set and looked at, its offer
// installed with progress and how little was downloaded, the restart offered, and the history.
// Nothing overflows the phone's width and any error in the browser's console fails the test.
// Usage: node updates.mjs URL NAME PASSWORD SCREENSHOT_DIR CHANNEL_URL TAMPERED_BUNDLE
import { runOnPhone } from "./phone.mjs";

const [url, name, password, shots, channel, tampered] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const expectedFailure = (r) => r.status() === 401 && r.url().endsWith("/api/v1/me");

await runOnPhone("updates", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in and open Updates from the Box page");
  await page.goto(url);
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/photos"), null, { timeout: 10000 });
  await page.goto(url + "#/box");
  await page.getByRole("link", { name: "Updates" }).click();
  await page.locator("#running-version").filter({ hasText: "Running Hearth 1.0.0 (slot a)" }).waitFor({ timeout: 10000 });
  await page.locator("#other-version").filter({ hasText: "no complete system" }).waitFor({ timeout: 10000 });
  await fits("Updates");

  step("a tampered update file is refused, and says why");
  await page.setInputFiles("#bundle-file", tampered);
  await page.locator("#install-problem").filter({ hasText: "altered or damaged" }).waitFor({ timeout: 30000 });
  await page.locator("#update-install h2").filter({ hasText: "refused" }).waitFor({ timeout: 10000 });
  await shot("updates-refused");

  step("set the channel, look at it: 1.1.0 is offered with its notes");
  await page.fill("#channel-url", channel);
  await page.click("#channel-form button[type=submit]");
  await page.locator("#check-now:not([disabled])").waitFor({ timeout: 10000 });
  await page.click("#check-now");
  await page.locator("#offer-version").filter({ hasText: "Hearth 1.1.0 is available" }).waitFor({ timeout: 20000 });
  if (!(await page.locator("#channel-offer .notes").textContent()).includes("Faster thumbnails")) fail("the release notes are not shown");
  await fits("Updates with an offer");

  step("install it: progress, then ready, with what was downloaded");
  await page.click("#install-offer");
  await page.locator("#install-ready").waitFor({ timeout: 60000 });
  const fetched = await page.locator("#install-fetched").textContent();
  if (!/Downloaded .* the whole update is/.test(fetched)) fail(`the download line: ${fetched}`);
  if (!(await page.locator("#restart-now").count())) fail("no restart button");
  await page.locator("#other-version").filter({ hasText: "Hearth 1.1.0 (slot b)" }).waitFor({ timeout: 10000 });
  if (await page.locator("#install-offer").count()) fail("the written version is still offered for install");
  if (/\bnull\b|undefined/.test(await page.locator("main").textContent())) fail("the page shows null or undefined");
  await fits("Updates, ready");
  await shot("updates-ready");

  step("the history says what happened, newest first");
  const events = await page.locator("#update-events li").evaluateAll((els) => els.map((e) => e.dataset.kind));
  if (events[0] !== "installed" || !events.includes("refused")) fail(`the history: ${events}`);
});
