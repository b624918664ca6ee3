// The Disks page as the owner opens it on a phone, on the machine the test runs on: its disks
// are listed from the real /sys, the one holding the system says so, sizes and volumes are
// shown, and nothing says null or overflows. Then the move of the data to a disk: the test
// machine has no spare disk, so the listing the page receives gets one more, an exFAT stick (the
// only change made to what the server says); the page offers the move on it and not on the
// system disk, asks for the erase to be ticked, and sends the request to the real server, whose
// answer (no disk with that serial here) is shown. Any error in the browser's console fails the
// test (but the expected 404).
// Usage: node disks.mjs URL NAME PASSWORD SCREENSHOT_DIR SYSTEM_DISK
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, systemDisk] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const STICK = "HEARTH-TEST-STICK";
const expectedFailure = (r) => (r.status() === 401 && r.url().endsWith("/api/v1/me"))
  || (r.status() === 404 && r.url().includes(`/api/v1/disks/${STICK}/use-for-data`));

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
  const home = await page.locator("#data-home .data-on").textContent();
  if (!home.includes("on the box's card")) fail(`where the data lives: "${home}"`);
  if (await card.locator(".move-start").count()) fail("the move is offered on the system disk");

  step("a stick plugged in (added to the listing): the move is offered on it");
  await page.route("**/api/v1/disks", async (route) => {
    const response = await route.fetch();
    const inventory = await response.json();
    inventory.disks.push({
      name: "sdx", vendor: "SanDisk", model: "Ultra", serial: STICK, size_bytes: 64e9, transport: "usb", rotational: false,
      removable: true, read_only: false, partition_table: null, system: false, health: null, problem: null,
      volumes: [{ name: "sdx", number: 0, size_bytes: 64e9, mounts: [], problem: null,
        file_system: { kind: "exfat", uuid: "1234-ABCD", label: null, pool: null } }],
    });
    await route.fulfill({ response, json: inventory });
  });
  await page.reload();
  const stick = page.locator('#disks .disk[data-name="sdx"]');
  await stick.waitFor({ timeout: 20000 });
  await stick.locator(".move-start").click();
  await stick.locator(".move-form").waitFor({ timeout: 5000 });
  await fits("the move form");
  await shot("disks-move");
  await stick.locator(".move-go").click();
  const said = stick.locator(".move-said");
  await page.waitForFunction(() => document.querySelector('.disk[data-name="sdx"] .move-said').textContent.includes("Tick the box"), null, { timeout: 5000 });
  if (!(await stick.locator(".move-erase").isVisible())) fail("no erase box for a disk that holds exFAT");
  if (!(await stick.locator(".move-form").textContent()).includes("exFAT")) fail("the form does not say what is erased");

  step("ticked: the request goes to the box, and its answer is shown");
  await stick.locator(".move-erase").check();
  const asked = page.waitForRequest((r) => r.url().includes(`/api/v1/disks/${STICK}/use-for-data`) && r.method() === "POST");
  await stick.locator(".move-go").click();
  const body = JSON.parse((await asked).postData());
  if (body.file_system !== "ext4" || body.erase !== true) fail(`the request: ${JSON.stringify(body)}`);
  await page.waitForFunction(() => /no disk with serial/.test(document.querySelector('.disk[data-name="sdx"] .move-said').textContent), null, { timeout: 10000 });
  if ((await said.getAttribute("class")).split(" ").indexOf("error") < 0) fail("the refusal is not shown as an error");

  step("a disk whose health fails is said on the Box page, with a link to Disks");
  await page.unroute("**/api/v1/disks");
  await page.route("**/api/v1/disks", async (route) => {
    const response = await route.fetch();
    const inventory = await response.json();
    inventory.disks.push({
      name: "sdy", vendor: "WDC", model: "WD40EFAX", serial: "WD-FAILING", size_bytes: 4e12, transport: "usb", rotational: true,
      removable: false, read_only: false, partition_table: "gpt", system: false, problem: null, volumes: [],
      health: { verdict: "failing", reasons: ["the disk's own check fails", "12 reallocated sectors"], unavailable: null,
        temperature_c: 41, power_on_hours: 30000 },
    });
    await route.fulfill({ response, json: inventory });
  });
  await page.goto(url + "#/box");
  const alert = page.locator("#disk-health .disk-alert");
  await alert.waitFor({ timeout: 15000 });
  const words = await alert.textContent();
  if (!words.includes("WDC WD40EFAX is failing") || !words.includes("12 reallocated sectors")) fail(`the alert: "${words}"`);
  await fits("the Box page with a disk alert");
  await shot("box-disk-alert");
  await alert.locator("a").click();
  await page.locator('#disks .disk[data-name="sdy"] .disk-health[data-verdict="failing"]').waitFor({ timeout: 10000 });
});
