// The Disks page as the owner opens it on a phone, on the machine the test runs on: its disks
// are listed from the real /sys, the one holding the system says so, sizes and volumes are
// shown, and nothing says null or overflows. Then the move of the data to a disk: the test
// machine has no spare disk, so the listing the page receives gets one more, an exFAT stick (the
// only change made to what the server says); the page offers the move on it and not on the
// system disk, asks for the erase to be ticked, and sends the request to the real server, whose
// answer (no disk with that serial here) is shown. Any error in the browser's console fails the
// test (but the expected 404). Then, with the listing saying the data is on a btrfs pool with a
// disk missing: the Box page says so, the Disks page says so and offers the stick in the missing
// disk's place, a scrub, and the eject of a mounted disk, each sent to the real server, whose
// refusals (not btrfs here; no such disk) are shown.
// Usage: node disks.mjs URL NAME PASSWORD SCREENSHOT_DIR SYSTEM_DISK
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, systemDisk] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const STICK = "HEARTH-TEST-STICK";
const expectedFailure = (r) => (r.status() === 401 && r.url().endsWith("/api/v1/me"))
  || (r.status() === 404 && r.url().includes(`/api/v1/disks/${STICK}/use-for-data`))
  || (r.status() === 409 && r.url().includes(`/api/v1/disks/${STICK}/mirror`))
  || (r.status() === 404 && r.url().includes("/api/v1/disks/KINGSTON-MOUNTED/eject"))
  || (r.status() === 409 && r.url().endsWith("/api/v1/disks/pool/scrub"))
  || (r.status() === 409 && r.url().endsWith("/api/v1/disks/card-copy/free"));

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
        temperature_c: 41, power_on_hours: 30000, self_test_running: false,
        last_self_test: { kind: "Short offline", result: "Completed: read failure", passed: false, at_hours: 29990 } },
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
  const failing = page.locator('#disks .disk[data-name="sdy"] .disk-health[data-verdict="failing"]');
  await failing.waitFor({ timeout: 10000 });
  if (!(await failing.textContent()).includes("last self-test (Short offline) failed: Completed: read failure")) fail(`the self-test: ${await failing.textContent()}`);

  step("the data on a btrfs pool with a disk missing: the Box page says so");
  await page.unroute("**/api/v1/disks");
  await page.route("**/api/v1/disks", async (route) => {
    const response = await route.fetch();
    const inventory = await response.json();
    inventory.data = { on: "disk", uuid: "0f4e7d3a-1111-2222-3333-444455556666", file_system: "btrfs", moved: null, given_up: null, degraded: true,
      card_copy: "kept", card_partition: "/dev/mmcblk0p4" };
    inventory.pool = { state: "degraded", operation: null, scrubbing: false, profiles: ["data:raid1", "metadata:raid1", "data:single"],
      devices: [{ id: 1, volume: "vdb1", serial: "DATA-A", missing: false, errors: { write: 0, read: 0, flush: 0, corruption: 0, generation: 0 } },
        { id: 2, volume: null, serial: null, missing: true, errors: { write: 3, read: 0, flush: 0, corruption: 0, generation: 0 } }],
      last_scrub: { started: 1796000000, seconds: 40, bytes: 5e9, errors: 0, corrected: 0, uncorrectable: 0, status: "finished" } };
    inventory.disks.push({
      name: "sdx", vendor: "SanDisk", model: "Ultra", serial: STICK, size_bytes: 64e9, transport: "usb", rotational: false,
      removable: true, read_only: false, partition_table: null, system: false, health: null, problem: null,
      volumes: [{ name: "sdx", number: 0, size_bytes: 64e9, mounts: [], problem: null,
        file_system: { kind: "exfat", uuid: "1234-ABCD", label: null, pool: null } }],
    }, {
      name: "sdz", vendor: "Kingston", model: "DataTraveler", serial: "KINGSTON-MOUNTED", size_bytes: 32e9, transport: "usb", rotational: false,
      removable: true, read_only: false, partition_table: "mbr", system: false, health: null, problem: null,
      volumes: [{ name: "sdz1", number: 1, size_bytes: 32e9, mounts: [{ path: "/media/holiday", read_only: false }], problem: null,
        file_system: { kind: "vfat", uuid: "ABCD-1234", label: "HOLIDAY", pool: null } }],
    });
    await route.fulfill({ response, json: inventory });
  });
  await page.goto(url + "#/box");
  const poolAlert = page.locator("#disk-health .pool-alert");
  await poolAlert.waitFor({ timeout: 15000 });
  if (!(await poolAlert.textContent()).includes("disks holding your data is missing")) fail(`the pool alert: "${await poolAlert.textContent()}"`);

  step("Disks says the pool is degraded, its last scrub, and offers the stick in the missing disk's place");
  await poolAlert.locator("a").click();
  const state = page.locator('#data-home .pool-state[data-state="degraded"]');
  await state.waitFor({ timeout: 10000 });
  if (!(await page.locator("#data-home .pool-errors").textContent()).includes("3 write")) fail("the missing disk's write errors are not said");
  if (!(await page.locator("#data-home .last-scrub").textContent()).includes("0 errors")) fail("the last scrub is not said");
  const spare = page.locator('#disks .disk[data-name="sdx"]');
  await spare.waitFor({ timeout: 10000 });
  if (await spare.locator(".move-start").count()) fail("a move is offered while the data is on a disk");
  await spare.locator(".replace-start").click();
  await spare.locator(".replace-form").waitFor({ timeout: 5000 });
  if (/\bnull\b|undefined|\[object/.test(await page.locator("main").textContent())) fail("the page shows null, undefined or an object");
  await fits("the replace form");
  await shot("disks-replace");
  await spare.locator(".replace-erase").check();
  const mirrorAsked = page.waitForRequest((r) => r.url().includes(`/api/v1/disks/${STICK}/mirror`) && r.method() === "POST");
  await spare.locator(".replace-go").click();
  const mirrorBody = JSON.parse((await mirrorAsked).postData());
  if (mirrorBody.action !== "replace" || mirrorBody.erase !== true) fail(`the replace request: ${JSON.stringify(mirrorBody)}`);
  await page.waitForFunction(() => /not on a btrfs disk/.test(document.querySelector('.disk[data-name="sdx"] .replace-said').textContent), null, { timeout: 10000 });

  step("the card's copy: emptied only after a second click; the box's answer is shown");
  await page.locator("#data-home .card-copy-start").click();
  await page.locator("#data-home .card-copy-go").click();
  await page.waitForFunction(() => /does not live on a disk/.test(document.querySelector("#data-home .card-copy-said").textContent), null, { timeout: 10000 });

  step("a scrub asked for: the box's answer is shown");
  await page.locator("#data-home .scrub-now").click();
  await page.waitForFunction(() => /not on a btrfs disk/.test(document.querySelector("#data-home .scrub-said").textContent), null, { timeout: 10000 });

  step("a mounted stick offers eject; the box's answer is shown");
  const mounted = page.locator('#disks .disk[data-name="sdz"]');
  if (await spare.locator(".eject").count()) fail("eject offered on a disk with nothing mounted");
  await mounted.locator(".eject").click();
  await page.waitForFunction(() => /no disk with serial/.test(document.querySelector('.disk[data-name="sdz"] .eject-said').textContent), null, { timeout: 10000 });
});
