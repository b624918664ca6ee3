// The Disks page as the owner opens it on a phone, on the machine the test runs on: its disks
// are listed from the real /sys, the one holding the system says so, sizes and volumes are
// shown, and nothing says null or overflows. Any error in the browser's console fails the test.
// Usage: node disks.mjs URL NAME PASSWORD SCREENSHOT_DIR SYSTEM_DISK
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, systemDisk] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const expectedFailure = (r) => r.status() === 401 && r.url().endsWith("/api/v1/me");

await runOnPhone("disks", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in and open Disks from the Box page");
  await logIn(page, url, name, password);
  await page.goto(url + "#/box");
  await page.getByRole("link", { name: "Disks" }).click();

  step(`the system disk (${systemDisk}) is listed, says it holds the system, with its size and volumes`);
  const card = page.locator(`#disks .disk[data-name="${systemDisk}"]`);
  await card.waitFor({ timeout: 20000 });
  await card.locator(".disk-system").waitFor({ timeout: 5000 });
  const facts = await card.locator(".disk-facts").textContent();
  if (!/\d+(\.\d)? (MB|GB|TB)/.test(facts)) fail(`no size in "${facts}"`);
  const volumes = await card.locator(".volume").allTextContents();
  if (!volumes.some((v) => v.includes("in use at /"))) fail(`no volume in use at / on the system disk: ${volumes}`);
  if (/\bnull\b|undefined|\[object/.test(await page.locator("main").textContent())) fail("the page shows null, undefined or an object");
  await fits("Disks");
  await shot("disks");
});
