// The family's setup in a real browser: add a member (emoji and right-to-left text in the name),
// create an app password (shown once, with its QR code; it works at once), see the box's sync
// ID and QR code, accept a Syncthing device that dialled in, receive the folder it offers into
// the owner's timeline, and see its photos there.
// Usage: node pairing.mjs URL NAME PASSWORD SYNC_ID PHONE_ID PHOTOS SCREENSHOT_DIR
import { chromium, request as apiClient } from "playwright-core";
import { createInterface } from "node:readline";

// Asks the test that started this script to do something on the phone, and waits until it has.
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function phone(what) {
  console.log(`PHONE: ${what}`);
  const { value } = await lines.next();
  if (value !== "done") fail(`the phone could not ${what}: ${value}`);
}

const [url, name, password, syncId, phoneId, photos, shots] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const problems = [];
try {
  // The box's certificate is its own (the family checks its fingerprint on the box's page).
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, ignoreHTTPSErrors: true, colorScheme: "dark" });
  if (!url.startsWith("https://")) fail("this journey runs over HTTPS");
  const login = await context.request.post(new URL("/api/v1/auth/login", url).href, { data: { name, password } });
  if (!login.ok()) fail(`login: ${login.status()}`);
  const page = await context.newPage();
  page.on("console", (m) => {
    const expected = /Failed to load resource: the server responded with a status of (400|401|503)\b/;
    if (m.type() === "error" && !expected.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = async (n) => { if (shots) await page.screenshot({ path: `${shots}/${n}.png`, fullPage: true }); };

  step("add a family member");
  await page.goto(new URL("/#/family", url).href);
  await page.locator("#people tr").first().waitFor({ timeout: 10000 });
  await page.fill("#person-name", "ben");
  await page.fill("#person-display", "Ben 🙂 بن");
  await page.fill("#person-password", "short");
  await page.click("#add-person button[type=submit]");
  // The browser's own check stops a short password before the server sees it.
  if (await page.locator('#people tr[data-user="ben"]').count()) fail("a short password was accepted");
  await page.fill("#person-password", "ben-long-password");
  await page.click("#add-person button[type=submit]");
  await page.locator('#people tr[data-user="ben"]').filter({ hasText: "Ben 🙂 بن" }).waitFor({ timeout: 10000 });
  const ben = await context.request.post(new URL("/api/v1/auth/login", url).href, { data: { name: "ben", password: "ben-long-password" } });
  if (!ben.ok()) fail(`the new member logs in: ${ben.status()}`);
  // That login replaced the owner's session cookie in this context: log the owner in again.
  await context.request.post(new URL("/api/v1/auth/login", url).href, { data: { name, password } });

  step("the owner shares her timeline with the new member");
  await page.reload();
  await page.locator("#people tr").first().waitFor({ timeout: 10000 });
  await page.fill("#partner-name", "ben");
  await page.click("#add-partner button[type=submit]");
  await page.locator('#sharing-with li[data-partner="ben"]').waitFor({ timeout: 10000 });

  step("an app password, shown once with its QR code");
  await page.reload();
  await page.locator("#people tr").first().waitFor({ timeout: 10000 });
  await page.fill("#token-name", "Anna's phone");
  await page.click("#add-token button[type=submit]");
  await page.locator("#token-secret").waitFor({ timeout: 10000 });
  const secret = (await page.textContent("#token-secret")).trim();
  await page.waitForFunction(() => { const i = document.querySelector("#token-created img.qr"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
  // From outside the browser, with nothing but the app password (as the phone app will).
  const app = await apiClient.newContext({ ignoreHTTPSErrors: true });
  const me = await (await app.get(new URL("/api/v1/me", url).href, { headers: { Authorization: `Bearer ${secret}` } })).json();
  await app.dispose();
  if (me.name !== name) fail(`the app password logs in as ${name}: ${JSON.stringify(me)}`);
  await page.locator('#tokens tr').filter({ hasText: "Anna's phone" }).waitFor({ timeout: 10000 });
  await shot("family-phone");

  step("a laptop's backup password (append-only): the page gives the restic command, which works");
  await page.fill("#token-name", "Ada's laptop");
  await page.selectOption("#token-scope", "backup_append_only");
  await page.click("#add-token button[type=submit]");
  const command = (await page.locator("#restic-repo").textContent({ timeout: 10000 })).trim();
  if (!command.startsWith("restic -r rest:https://")) fail(`the restic command: ${command}`);
  await phone(`restic ${command.split(" ")[2]}`);
  await shot("family-restic");
  await page.goto(new URL("#/backups", url).href);
  const laptopRow = page.locator('#hosted li[data-repository="laptop"]');
  await laptopRow.waitFor({ timeout: 10000 });
  const line = await laptopRow.textContent();
  if ((await laptopRow.getAttribute("data-snapshots")) !== "1" || !line.includes("1 backup kept") || line.includes("never")) fail(`the laptop's backups on the Backups page: ${line}`);
  await shot("backups");

  step("the box's sync ID and QR code");
  await page.click('#nav a[data-page="devices"]');
  await page.locator("#box-sync-id").filter({ hasText: syncId }).waitFor({ timeout: 10000 });
  await page.waitForFunction(() => { const i = document.querySelector(".qr-box img.qr"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });

  step("accept the phone that dialled in");
  const request = page.locator(`#pending-devices .request[data-device="${phoneId}"]`);
  await request.waitFor({ timeout: 60000 });
  await shot("devices-pending-phone");
  await request.locator("button").click();
  await page.locator(`#paired-devices tr[data-device="${phoneId}"]`).waitFor({ timeout: 10000 });

  step("receive the folder it offers into the owner's timeline");
  const offer = page.locator('#pending-folders .request[data-folder="camera"]');
  await offer.waitFor({ timeout: 90000 });
  const explained = await offer.textContent();
  if (!explained.includes("never changes or deletes anything on the phone")) fail(`the folder type is explained: ${explained}`);
  await offer.locator("select").selectOption(name);
  await offer.locator("button").click();
  await page.locator('#folders .folder[data-folder="camera"]').waitFor({ timeout: 10000 });
  await page.locator('#folders .folder[data-folder="camera"] .state.idle').waitFor({ timeout: 120000 });
  await shot("devices-phone");

  step("its photos are in the timeline");
  await page.click('#nav a[data-page="photos"]');
  await page.waitForFunction((n) => document.querySelectorAll("#timeline .cell").length >= n, Number(photos), { timeout: 120000 });
  await page.waitForFunction(() => [...document.querySelectorAll("#timeline .cell img")].some((i) => i.complete && i.naturalWidth > 0), null, { timeout: 60000 });
  await shot("photos-from-phone");

  step("the phone deletes a photo; the box keeps it, and it is put back from its versions");
  await phone("delete DCIM/Camera/IMG_0000.jpg");
  await page.click('#nav a[data-page="devices"]');
  const folderBox = page.locator('#folders .folder[data-folder="camera"]');
  await folderBox.waitFor({ timeout: 10000 });
  // The box learns of the deletion when the phone's index update arrives; look again until it has.
  for (let i = 0; i < 60; i++) {
    await folderBox.locator(".versions-toggle").click();
    await folderBox.locator('.versions:not([aria-busy])').waitFor({ timeout: 10000 });
    if (await folderBox.locator(".versions li").count()) break;
    await folderBox.locator(".versions-toggle").click();
    await page.waitForTimeout(1000);
  }
  const kept = folderBox.locator(".versions li").first();
  await kept.waitFor({ timeout: 5000 });
  if (!(await kept.textContent()).includes("IMG_0000.jpg")) fail(`the deleted photo is among the versions: ${await kept.textContent()}`);
  await shot("versions-phone");
  await kept.locator("button").click();
  await page.locator("#toast").filter({ hasText: "is back" }).waitFor({ timeout: 10000 });
  await page.click('#nav a[data-page="photos"]');
  await page.waitForFunction((n) => document.querySelectorAll("#timeline .cell").length >= n, Number(photos), { timeout: 60000 });

  step("an album of the phone's photos, shared with the member");
  await page.click("#select-start");
  for (const cell of await page.locator("#timeline .cell").all()) await cell.click();
  await page.click("#selection-album");
  await page.locator("#album-form").waitFor({ timeout: 10000 });
  await page.fill("#album-new-title", "From the phone");
  await page.click("#album-form button[type=submit]");
  await page.locator("#album-form").waitFor({ state: "detached", timeout: 10000 });
  await page.click('#nav a[data-page="albums"]');
  await page.locator("#albums .album-card").first().click();
  await page.locator("#add-member").waitFor({ timeout: 10000 });
  await page.fill("#member-name", "ben");
  await page.click("#add-member button[type=submit]");
  await page.locator('#album-members li[data-member="ben"]').waitFor({ timeout: 10000 });

  step("the member sees the owner's timeline, to look at only, and the album");
  const benContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, ignoreHTTPSErrors: true });
  const benLogin = await benContext.request.post(new URL("/api/v1/auth/login", url).href, { data: { name: "ben", password: "ben-long-password" } });
  if (!benLogin.ok()) fail(`ben logs in: ${benLogin.status()}`);
  const benPage = await benContext.newPage();
  benPage.on("pageerror", (e) => problems.push(`ben's page error: ${e.message}`));
  await benPage.goto(new URL("/#/family", url).href);
  await benPage.locator(`#shared-by li[data-owner="${name}"] a`).click();
  await benPage.waitForFunction((n) => document.querySelectorAll("#timeline .cell").length >= n, Number(photos), { timeout: 30000 });
  await benPage.locator("#timeline .cell").first().click();
  await benPage.locator(".viewer .stage img").waitFor({ timeout: 10000 });
  if (await benPage.locator(".viewer .favourite").isVisible()) fail("a partner's photo cannot be made a favourite by the viewer");
  if (await benPage.locator(".viewer .trash").isVisible()) fail("a partner's photo cannot be trashed by the viewer");
  if (shots) await benPage.screenshot({ path: `${shots}/partner-viewer-phone.png` });
  await benPage.keyboard.press("Escape");
  await benPage.goto(new URL("/#/albums", url).href);
  await benPage.locator("#albums .album-card").filter({ hasText: "From the phone" }).waitFor({ timeout: 10000 });
  await benContext.close();

  if (problems.length) fail(`the browser reported:\n${problems.join("\n")}`);
  console.log("pairing: member, app password, sync ID, device accepted, folder received, photos shown");
} finally {
  await browser.close();
  // Stdin stays open on the test's side until this script ends; let go of it so node can.
  await lines.return?.();
  process.stdin.destroy();
}
