// The web app in a real browser: claim the box, add photos and see them in the timeline, the
// viewer (info, favourite, keyboard), an album made from a selection and shared by link, a
// relative without an account opening it and downloading, the link revoked, the box's page, a
// session that ends mid-use, log out, a wrong password, log in, reload. Any error in the
// browser's console fails the test.
// Usage: node web_page.mjs http://127.0.0.1:PORT/ SCREENSHOT_DIR PHOTO NOT_A_PHOTO [PHOTO2 BIG_PHOTO COPY_OF_PHOTO]
import { chromium } from "playwright-core";

const [url, shots, photo, notPhoto, photo2, bigPhoto, copy] = process.argv.slice(2);
if (!url) {
  console.error("usage: node web_page.mjs URL [SCREENSHOT_DIR PHOTO NOT_A_PHOTO PHOTO2]");
  process.exit(2);
}
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  page.on("console", (m) => {
    // Chromium logs every answer that is not a success. Expected here: 400 (a refused password
    // or file), 401 (a wrong password, the ended session) and 503 (a thumbnail asked for before
    // the worker made it; the page asks again). Anything else is a fault of the app.
    const expected = /Failed to load resource: the server responded with a status of (400|401|503)\b/;
    if (m.type() === "error" && !expected.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = async (name) => { if (shots) await page.screenshot({ path: `${shots}/${name}.png` }); };

  step("claim");
  await page.goto(url);
  await page.locator("#claim").waitFor({ state: "visible", timeout: 10000 });
  if (await page.locator("#claim-code-box").count()) fail("the setup code is asked for on the box's own network");
  await shot("claim-phone");
  await page.fill("#claim-name", "anna");
  await page.fill("#claim-password", "short");
  await page.click("#claim button[type=submit]");
  await page.locator("#claim-error").filter({ hasText: "at least 8" }).waitFor({ timeout: 10000 });
  await page.fill("#claim-password", "anna-long-password");
  // A name with right-to-left text and an emoji; the zone as the family picks it from the list.
  await page.fill("#claim-box-name", "صور العائلة 🏠");
  await page.selectOption("#claim-time-zone", "Asia/Tokyo");
  await page.click("#claim button[type=submit]");

  step("getting started after the claim, on an empty box");
  await page.locator('#start-steps li[data-step="box"].done').waitFor({ timeout: 10000 });
  if (!location_is(page, "#/start")) fail(`after claiming: ${page.url()}`);
  if ((await page.getAttribute("#account", "data-name")) !== "anna") fail("the bar names the owner");
  const boxStep = await page.textContent('#start-steps li[data-step="box"]');
  if (!boxStep.includes("صور العائلة 🏠") || !boxStep.includes("Asia/Tokyo".replace("_", " "))) fail(`the box's name and zone: ${boxStep}`);
  for (const undone of ["phone", "family", "photos"]) {
    if (await page.locator(`#start-steps li[data-step="${undone}"].done`).count()) fail(`${undone} is not done yet on a new box`);
  }
  await shot("start-phone");
  await page.click('#start-steps li[data-step="photos"] a');
  await page.locator("#timeline").waitFor({ state: "attached", timeout: 10000 });
  await page.locator(".empty").waitFor({ state: "visible", timeout: 10000 });
  await shot("empty-phone");

  if (photo) {
    step("upload a photo and a text file named like one");
    await page.setInputFiles("#upload", [photo, notPhoto, ...(photo2 ? [photo2] : [])]);
    await page.locator("#upload-status").filter({ hasText: "added; not added:" }).waitFor({ timeout: 30000 });
    const status = await page.textContent("#upload-status");
    if (!status.includes("list.jpg: this is not a photo")) fail(`the text file's reason is shown: ${status}`);
    if (status.includes("/data/")) fail(`no server paths in what the family reads: ${status}`);
    await page.waitForFunction(() => {
      const img = document.querySelector("#timeline .cell img");
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 60000 });
    const heading = await page.textContent("#timeline .month h2");
    if (!heading.startsWith("July 2024")) fail(`the month of the photo: ${heading}`);
    await shot("photos-phone");

    step("viewer: open, info, favourite, keys, back");
    const first = page.locator("#timeline .cell").first();
    const id = await first.getAttribute("data-id");
    await first.click();
    await page.locator(".viewer").waitFor({ state: "visible", timeout: 10000 });
    if (!location_is(page, `#/photos/${id}`)) fail(`the viewer's address: ${page.url()}`);
    await page.waitForFunction(() => { const i = document.querySelector(".viewer .stage img"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 30000 });
    await page.click(".viewer .info-toggle");
    await page.locator("#viewer-info dt").filter({ hasText: "Taken" }).waitFor({ timeout: 10000 });
    const info = await page.textContent("#viewer-info");
    if (!info.includes("2024")) fail(`the info panel shows the date taken: ${info}`);
    if (info.includes("/data/")) fail(`the info panel shows no server path: ${info}`);
    await shot("viewer-phone");
    await page.click(".viewer .favourite");
    await page.locator('.viewer .favourite[aria-pressed="true"]').waitFor({ timeout: 10000 });
    const details = await page.evaluate(async (id) => (await fetch(`/api/v1/assets/${id}`)).json(), id);
    if (!details.favourite) fail("favourite reached the server");
    if (photo2) {
      await page.keyboard.press("ArrowRight");
      await page.waitForFunction((id) => location.hash.startsWith("#/photos/") && location.hash !== `#/photos/${id}`, id, { timeout: 10000 });
      await page.keyboard.press("ArrowLeft");
      await page.waitForFunction((id) => location.hash === `#/photos/${id}`, id, { timeout: 10000 });
      // Two presses in one moment, quicker than the page hears of the first address: the second
      // steps back from where the first led, not from the photo still on screen.
      await page.evaluate(() => {
        for (const key of ["ArrowRight", "ArrowLeft"]) document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
      });
      await page.waitForFunction((id) => location.hash === `#/photos/${id}` && document.querySelector(`.viewer .stage img[src^="/api/v1/assets/${id}/"]`), id, { timeout: 10000 });
    }
    await page.keyboard.press("Escape");
    await page.locator(".viewer").waitFor({ state: "detached", timeout: 10000 });
    await page.locator(`#timeline .cell[data-id="${id}"] .fav`).waitFor({ timeout: 10000 });
  }

  if (photo2) {
    step("search finds the photo taken in Paris, with a suggestion as the name is typed");
    await page.click("#search-open");
    await page.locator("#search-form").waitFor({ timeout: 10000 });
    await page.fill("#search-text", "Par");
    await page.waitForFunction(() => [...document.querySelectorAll("#search-suggestions option")].some((o) => o.value === "Paris"), null, { timeout: 10000 });
    await page.fill("#search-text", "paris");
    await page.click("#search-form button[type=submit]");
    await page.locator("#search-grid .cell").first().waitFor({ timeout: 10000 });
    if ((await page.locator("#search-grid .cell").count()) !== 1) fail("one photo was taken in Paris");
    await page.locator("#search-grid .cell").first().click();
    await page.click(".viewer .info-toggle");
    await page.locator("#viewer-info dd").filter({ hasText: "Paris" }).waitFor({ timeout: 10000 });
    await shot("search-phone");
    await page.keyboard.press("Escape");
    await page.locator(".viewer").waitFor({ state: "detached", timeout: 10000 });
    await page.click('#nav a[data-page="photos"]');
    await page.locator("#timeline .cell").first().waitFor({ timeout: 10000 });

    step("the map shows the photo taken in Paris, drawn without the internet");
    await page.click("#map-open");
    await page.locator("#map .leaflet-marker-icon[data-count]").first().waitFor({ timeout: 20000 });
    // Clusters open with a tap until the photo shows on its own.
    const pin = page.locator("#map .leaflet-marker-icon[data-id]");
    for (let i = 0; i < 6 && !(await pin.count()); i++) {
      await page.locator("#map .leaflet-marker-icon[data-count]").first().click();
      await page.waitForTimeout(700);
    }
    await pin.first().waitFor({ timeout: 20000 });
    if ((await pin.count()) !== 1) fail(`one located photo on the map: ${await pin.count()}`);
    await page.waitForFunction(() => { const i = document.querySelector("#map .map-photo img"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 20000 });
    await shot("map-phone");
    await pin.first().click();
    await page.click(".viewer .info-toggle");
    await page.locator("#viewer-info dd").filter({ hasText: "Paris" }).waitFor({ timeout: 10000 });
    await page.keyboard.press("Escape");
    await page.locator(".viewer").waitFor({ state: "detached", timeout: 10000 });
    await page.click('#nav a[data-page="photos"]');
    await page.locator("#timeline .cell").first().waitFor({ timeout: 10000 });

    step("select both photos, add them to a new album, share it by link");
    await page.click("#select-start");
    for (const cell of await page.locator("#timeline .cell").all()) await cell.click();
    await page.locator("#selection-count").filter({ hasText: "2 selected" }).waitFor({ timeout: 5000 });
    await page.click("#selection-album");
    await page.locator("#album-form").waitFor({ timeout: 10000 });
    await page.selectOption("#album-choice", "");
    await page.fill("#album-new-title", "Summer 🌞 at grandma's — صيف");
    await page.click("#album-form button[type=submit]");
    await page.locator("#album-form").waitFor({ state: "detached", timeout: 10000 });
    await page.click('#nav a[data-page="albums"]');
    await page.locator("#albums .album-card").first().click();
    await page.locator("#album-assets .cell").nth(1).waitFor({ timeout: 10000 });
    await page.click("#album-share");
    await page.locator("#share-form").waitFor({ timeout: 10000 });
    await page.click("#share-form button[type=submit]");
    await page.locator("#share-url").waitFor({ timeout: 10000 });
    const link = (await page.textContent("#share-url")).trim();
    await shot("share-phone");
    await page.click("#share-close");
    await page.locator("#album-links .link-row").first().waitFor({ timeout: 10000 });

    step("a relative without an account opens the link and downloads a photo");
    const visitor = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, acceptDownloads: true });
    const guest = await visitor.newPage();
    guest.on("pageerror", (e) => problems.push(`visitor page error: ${e.message}`));
    await guest.goto(link);
    await guest.locator("#shared-assets .cell img").nth(1).waitFor({ timeout: 10000 });
    const title = await guest.textContent("h1");
    if (!title.includes("Summer")) fail(`the visitor sees the album's title: ${title}`);
    await guest.locator("#shared-assets .cell").first().click();
    await guest.locator("#shared-download").waitFor({ timeout: 10000 });
    const [download] = await Promise.all([guest.waitForEvent("download", { timeout: 20000 }), guest.click("#shared-download")]);
    const saved = await download.path();
    if (!saved || !download.suggestedFilename().endsWith(".jpg")) fail(`a download of the original: ${download.suggestedFilename()}`);
    if (shots) await guest.screenshot({ path: `${shots}/shared-visitor-phone.png` });

    step("the owner stops sharing; the link stops working");
    await page.locator("#album-links .link-row button").first().click();
    await page.locator("#album-links .link-row").waitFor({ state: "detached", timeout: 10000 });
    await guest.goto("about:blank");
    await guest.goto(link);
    await guest.locator("#share-gone").waitFor({ timeout: 10000 });
    await visitor.close();

    step("trash a photo from the viewer, put it back from the trash");
    await page.click('#nav a[data-page="photos"]');
    await page.locator("#timeline .cell").nth(1).waitFor({ timeout: 10000 });
    await page.locator("#timeline .cell").first().click();
    await page.locator(".viewer .trash").click();
    await page.locator("#toast").filter({ hasText: "trash" }).waitFor({ timeout: 10000 });
    await page.keyboard.press("Escape");
    await page.click("#trash-open");
    await page.locator("#trash figure").first().waitFor({ timeout: 10000 });
    await page.locator("#trash figure button").first().click();
    await page.locator("#trash-empty").waitFor({ timeout: 10000 });
    await page.click('#nav a[data-page="photos"]');
    await page.locator("#timeline .cell").nth(1).waitFor({ timeout: 10000 });
  }

  if (copy) {
    step("a re-saved copy shows up among the near-duplicates; keeping one trashes the other");
    await page.setInputFiles("#upload", [copy]);
    await page.locator("#upload-status").filter({ hasText: "1 added" }).waitFor({ timeout: 30000 });
    // The copy is compared once the thumbnail worker has made its thumbnail: look again until then.
    await page.click("#duplicates-open");
    for (let i = 0; i < 60; i++) {
      await page.locator("#duplicates > *").first().waitFor({ timeout: 10000 });
      if (await page.locator("#duplicates .dup-group").count()) break;
      await page.waitForTimeout(1000);
      await page.reload();
    }
    const group = page.locator("#duplicates .dup-group").first();
    await group.waitFor({ timeout: 5000 });
    if ((await group.locator(".dup").count()) !== 2) fail("the photo and its copy are one group");
    await shot("duplicates-phone");
    await group.locator("button").click();
    await page.locator("#dups-none").waitFor({ timeout: 10000 });
    await page.click('#nav a[data-page="photos"]');
  }

  if (bigPhoto) {
    step("a big upload, cut off by a reload, goes on from where it stopped");
    const cdp = await context.newCDPSession(page);
    // 4 MB/s up: the second of the file's 8 MiB parts is still on its way when the page reloads.
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 4_000_000 });
    const offsets = [];
    page.on("request", (r) => { if (r.method() === "PATCH") offsets.push(Number(r.headers()["upload-offset"])); });
    const firstPart = page.waitForResponse((r) => r.request().method() === "PATCH" && r.status() === 204, { timeout: 60000 });
    await page.setInputFiles("#upload", [bigPhoto]);
    await firstPart;
    await page.reload();
    await page.locator("#timeline").waitFor({ state: "attached", timeout: 10000 });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.setInputFiles("#upload", [bigPhoto]);
    await page.locator("#upload-status").filter({ hasText: "1 added" }).waitFor({ timeout: 60000 });
    const resumedAt = offsets[offsets.length - 1];
    if (!(resumedAt >= 8 << 20)) fail(`the upload went on from the bytes that had arrived: PATCH offsets ${offsets}`);
    if (offsets.filter((o) => o === 0).length !== 1) fail(`nothing was sent twice from the start: ${offsets}`);
  }

  step("the box's page");
  await page.click('#nav a[data-page="box"]');
  await page.locator("#services tr").first().waitFor({ timeout: 10000 });
  const services = await page.locator("#services tr td:first-child").allTextContents();
  if (!services.includes("api")) fail(`services listed: ${services}`);
  await page.locator("#space progress").waitFor({ timeout: 10000 });
  await shot("box-phone");

  step("rename the box; a bad map tile address is refused with the reason");
  await page.locator("#box-name").waitFor({ timeout: 10000 });
  if ((await page.inputValue("#box-time-zone")) !== "Asia/Tokyo") fail("the zone chosen at the claim is shown");
  await page.fill("#box-map-tiles", "https://tiles.example.org/{z}/{x}.png");
  await page.click("#box-settings button[type=submit]");
  await page.locator("#box-settings .error").filter({ hasText: "{y}" }).waitFor({ timeout: 10000 });
  await page.fill("#box-map-tiles", "");
  await page.fill("#box-name", "The Kowalskis");
  await page.click("#box-settings button[type=submit]");
  await page.locator("#toast").filter({ hasText: "Saved" }).waitFor({ timeout: 10000 });
  // The page asks for the box's state every 10 s.
  await page.locator("#device-line").filter({ hasText: "The Kowalskis" }).waitFor({ timeout: 30000 });

  step("the session cookie is HttpOnly");
  const visible = await page.evaluate(() => document.cookie);
  if (visible.includes("hearth_session")) fail("the session cookie is readable from JavaScript");

  step("the session ends mid-use: log in again, back to where the user was going");
  await context.clearCookies();
  await page.click('#nav a[data-page="albums"]');
  await page.locator("#login").waitFor({ state: "visible", timeout: 15000 });
  await page.locator("#login .notice").waitFor({ timeout: 5000 });
  await page.fill("#login-name", "anna");
  await page.fill("#login-password", "anna-long-password");
  await page.click("#login button[type=submit]");
  await page.locator("#albums").waitFor({ timeout: 10000 });
  if (!location_is(page, "#/albums")) fail(`back where the session ended: ${page.url()}`);

  step("log out, a wrong password, log in, reload");
  await page.click("#account");
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", "anna");
  await page.fill("#login-password", "wrong-password");
  await page.click("#login button[type=submit]");
  await page.locator("#login-error").filter({ hasText: "wrong user name or password" }).waitFor({ timeout: 10000 });
  await page.fill("#login-password", "anna-long-password");
  await page.click("#login button[type=submit]");
  await page.locator("#timeline").waitFor({ state: "attached", timeout: 10000 });
  await page.reload();
  await page.locator("#timeline").waitFor({ state: "attached", timeout: 10000 });
  if (photo) await page.locator("#timeline .cell img").first().waitFor({ timeout: 10000 });

  step("desktop size");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.waitForTimeout(300);
  await shot("photos-desktop");

  if (problems.length) fail(`the browser reported:\n${problems.join("\n")}`);
  console.log("web app: claim, photos, viewer, box, session end, logout, login ok");
} finally {
  await browser.close();
}

function location_is(page, hash) {
  return new URL(page.url()).hash === hash;
}
