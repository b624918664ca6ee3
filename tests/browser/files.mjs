// The Files page as a family uses it on a phone: an empty folder, a folder made, two files
// uploaded into it (one with an odd name), the same name refused rather than replaced, a file
// renamed, downloaded, deleted after asking; a file put there over WebDAV by another client
// shows up. A Nextcloud app asks to log in (Login Flow v2): the page it opens asks the family
// member, signed out first, to log in, then to allow it; the app then holds an app password
// that reaches their files. A folder shared as a drop box takes a relative's file from another
// phone without replacing the family's, until sharing stops. A family folder made on the Family
// page stands among the owner's files, takes an upload, and a file moves into it and out of it
// into the owner's own files; a folder comes down as one .zip. Nothing overflows the phone's width and any error in the console
// fails the test.
// Usage: node files.mjs URL NAME PASSWORD SCREENSHOT_DIR WORK_DIR
import { writeFileSync } from "node:fs";
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, work] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
// The refused second upload of one name is expected to answer 412, one past the quota 507; a
// login flow's poll before it is granted, and the flow once used, 404.
const expectedFailure = (r) => (r.status() === 401 && r.url().endsWith("/api/v1/me"))
  || ((r.status() === 412 || r.status() === 507) && r.request().method() === "PUT")
  || (r.status() === 404 && (r.url().endsWith("/index.php/login/v2/poll") || r.url().includes("/api/v1/login-flows/")));
const names = async (page) => (await page.locator("#files .file-row").evaluateAll((rows) => rows.map((r) => r.dataset.name)));

await runOnPhone("files", shots, { expectedFailure }, async ({ browser, page, shot, fits }) => {
  step("log in, open Files from the tabs: nothing there yet");
  await logIn(page, url, name, password);
  await page.click("#nav a[data-page=files]");
  await page.locator("#files-empty").waitFor({ timeout: 10000 });
  await fits("Files, empty");
  await shot("files-empty");

  step("make a folder, open it");
  await page.fill("#files-new-folder-name", "School 2026");
  await page.click("#files-new-folder button[type=submit]");
  await page.locator('#files .file-row[data-name="School 2026"]').waitFor({ timeout: 10000 });
  await page.click('#files .file-row[data-name="School 2026"] a.file-name');
  await page.locator("h1").filter({ hasText: "School 2026" }).waitFor({ timeout: 10000 });
  await page.locator("#files-empty").waitFor({ timeout: 10000 });

  step("upload two files, one with an odd name: both listed with their sizes");
  const a = `${work}/maths homework.pdf`;
  const b = `${work}/#1 & ünïcödé 😀.txt`;
  writeFileSync(a, "%PDF-1.4 homework");
  writeFileSync(b, "x".repeat(1500));
  await page.setInputFiles("#files-pick", [a, b]);
  await page.locator("#files-status").filter({ hasText: "2 files uploaded" }).waitFor({ timeout: 20000 });
  await page.locator('#files .file-row[data-name="#1 & ünïcödé 😀.txt"]').waitFor({ timeout: 10000 });
  if (!(await page.locator('#files .file-row[data-name="#1 & ünïcödé 😀.txt"]').textContent()).includes("1.5 KB")) fail("the size is not shown");
  await fits("Files with two files");
  await shot("files-folder");

  step("the same name again is refused, the file on the box kept");
  writeFileSync(a, "another homework that must not replace the first");
  await page.setInputFiles("#files-pick", [a]);
  await page.locator("#toast").filter({ hasText: "already here" }).waitFor({ timeout: 10000 });
  const kept = await page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin" })).text(), `/dav/files/${name}/School%202026/maths%20homework.pdf`);
  if (kept !== "%PDF-1.4 homework") fail(`the first upload was replaced: ${kept}`);

  step("rename one; the download link gives its bytes");
  await page.click('#files .file-row[data-name="maths homework.pdf"] button[aria-label^="Rename"]');
  await page.fill(".file-rename input", "Maths (Sept).pdf");
  await page.click(".file-rename button[type=submit]");
  await page.locator('#files .file-row[data-name="Maths (Sept).pdf"]').waitFor({ timeout: 10000 });
  const href = await page.locator('#files .file-row[data-name="Maths (Sept).pdf"] a.file-name').getAttribute("href");
  const bytes = await page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin" })).text(), href);
  if (bytes !== "%PDF-1.4 homework") fail(`the renamed file's download: ${bytes}`);

  step("delete asks first, then deletes");
  const del = page.locator('#files .file-row[data-name="#1 & ünïcödé 😀.txt"] button[aria-label^="Delete"]');
  await del.click();
  await del.filter({ hasText: "Sure?" }).waitFor({ timeout: 5000 });
  if ((await names(page)).length !== 2) fail("one click deleted without asking");
  await del.click();
  await page.locator("#toast").filter({ hasText: "is in the trash" }).waitFor({ timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll("#files .file-row").length === 1, null, { timeout: 10000 });

  step("a file another client put there over WebDAV shows up; the path in the address works");
  const put = await page.evaluate(async (u) => (await fetch(u, { method: "PUT", body: "from a laptop", credentials: "same-origin" })).status, `/dav/files/${name}/School%202026/laptop.txt`);
  if (put !== 201) fail(`PUT answered ${put}`);
  await page.reload();
  await page.locator('#files .file-row[data-name="laptop.txt"]').waitFor({ timeout: 10000 });
  if ((await page.locator(".crumbs a").count()) !== 2) fail("the way back up is not shown");
  await page.click(".crumbs a >> nth=0");
  await page.locator('#files .file-row[data-name="School 2026"]').waitFor({ timeout: 10000 });
  if (/\bnull\b|undefined|NaN/.test(await page.locator("main").textContent())) fail("the page shows null, undefined or NaN");
  await shot("files-root");

  step("the laptop replaces its file; the Versions button shows the old one and puts it back");
  await page.goto(`${url}#/files/School%202026`);
  await page.locator('#files .file-row[data-name="laptop.txt"]').waitFor({ timeout: 10000 });
  const replaced = await page.evaluate(async (u) => (await fetch(u, { method: "PUT", body: "from a laptop, edited", credentials: "same-origin" })).status, `/dav/files/${name}/School%202026/laptop.txt`);
  if (replaced !== 204) fail(`the second PUT answered ${replaced}`);
  await page.reload();
  await page.click('#files .file-row[data-name="laptop.txt"] button[aria-label^="Earlier versions"]');
  await page.locator(".file-versions li").first().waitFor({ timeout: 10000 });
  await fits("a file's versions");
  await shot("files-versions");
  await page.click(".file-versions li button");
  await page.locator("#toast").filter({ hasText: "is back as it was" }).waitFor({ timeout: 10000 });
  const restored = await page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin" })).text(), `/dav/files/${name}/School%202026/laptop.txt`);
  if (restored !== "from a laptop") fail(`the version put back: ${restored}`);

  step("the deleted file waits in the trash and comes back where it was");
  await page.click("#files-trash-link");
  await page.locator('#files-trash li[data-path="School 2026/#1 & ünïcödé 😀.txt"]').waitFor({ timeout: 10000 });
  await fits("the trash");
  await shot("files-trash");
  await page.click('#files-trash li[data-path="School 2026/#1 & ünïcödé 😀.txt"] button >> nth=0');
  await page.locator("#toast").filter({ hasText: "Back at School 2026/#1 & ünïcödé 😀.txt" }).waitFor({ timeout: 10000 });
  await page.locator("#files-trash-none").waitFor({ timeout: 10000 });
  await page.goto(`${url}#/files/School%202026`);
  await page.locator('#files .file-row[data-name="#1 & ünïcödé 😀.txt"]').waitFor({ timeout: 10000 });

  step("the owner gives their own files a 1 MB limit on the Family page: a 2 MB upload is refused and not kept");
  await page.click("#nav a[data-page=family]");
  await page.locator(`button[data-quota="${name}"]`).click();
  await page.fill(".quota-row input", "0.001");
  await page.click(".quota-row button[type=submit]");
  await page.locator(`button[data-quota="${name}"]`).filter({ hasText: "GB" }).waitFor({ timeout: 10000 });
  await page.click("#nav a[data-page=files]");
  await page.locator('#files .file-row[data-name="School 2026"]').waitFor({ timeout: 10000 });
  const big = `${work}/scan.pdf`;
  writeFileSync(big, "y".repeat(2_000_000));
  await page.setInputFiles("#files-pick", [big]);
  await page.locator("#toast").filter({ hasText: "no room" }).waitFor({ timeout: 10000 });
  const listed = await names(page);
  if (listed.includes("scan.pdf")) fail("a refused upload is listed");
  await page.click("#nav a[data-page=family]");
  await page.locator(`button[data-quota="${name}"]`).click();
  await page.fill(".quota-row input", "");
  await page.click(".quota-row button[type=submit]");
  await page.locator(`button[data-quota="${name}"]`).filter({ hasText: "no limit" }).waitFor({ timeout: 10000 });

  step("the owner makes a family folder on the Family page; it stands among their files and takes an upload");
  await page.click("#nav a[data-page=family]");
  await page.fill("#folder-name", "Family 🏡");
  await page.click("#folder-form button[type=submit]");
  await page.locator('#family-folders .family-folder[data-folder="Family 🏡"] li[data-member]').waitFor({ timeout: 10000 });
  await fits("Family folders");
  await shot("family-folders");
  await page.click("#nav a[data-page=files]");
  await page.click('#files .file-row[data-name="Family 🏡"] a.file-name');
  await page.locator("#files-empty").waitFor({ timeout: 10000 });
  const shared = `${work}/menu.txt`;
  writeFileSync(shared, "soup on sunday");
  await page.setInputFiles("#files-pick", [shared]);
  await page.locator('#files .file-row[data-name="menu.txt"]').waitFor({ timeout: 10000 });
  step("move: into a folder of the family folder, then out of it into the owner's own files");
  await page.fill("#files-new-folder-name", "Old");
  await page.click("#files-new-folder button[type=submit]");
  await page.locator('#files .file-row[data-name="Old"]').waitFor({ timeout: 10000 });
  await page.click('#files .file-row[data-name="menu.txt"] button[aria-label^="Move"]');
  await page.fill(".file-rename input", "Family 🏡/Old");
  await page.click(".file-rename button[type=submit]");
  await page.locator("#toast").filter({ hasText: "menu.txt is now in Family 🏡/Old" }).waitFor({ timeout: 10000 });
  await page.locator('#files .file-row[data-name="menu.txt"]').waitFor({ state: "detached", timeout: 10000 });
  await page.click('#files .file-row[data-name="Old"] a.file-name');
  await page.locator('#files .file-row[data-name="menu.txt"]').waitFor({ timeout: 10000 });
  await page.click('#files .file-row[data-name="menu.txt"] button[aria-label^="Move"]');
  await page.fill(".file-rename input", "School 2026");
  await page.click(".file-rename button[type=submit]");
  await page.locator("#toast").filter({ hasText: "menu.txt is now in School 2026" }).waitFor({ timeout: 10000 });
  await page.locator('#files .file-row[data-name="menu.txt"]').waitFor({ state: "detached", timeout: 10000 });
  const moved = await page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin" })).text(), `/dav/files/${name}/School%202026/menu.txt`);
  if (moved !== "soup on sunday") fail(`the file moved out of the family folder: ${moved}`);

  step("share the folder as a drop box; a relative opens the link on their phone and sends a file of a name already there");
  await page.click("#nav a[data-page=files]");
  await page.locator("#files-links").filter({ hasText: "No links yet" }).waitFor({ timeout: 10000 });
  await page.click('#files .file-row[data-name="School 2026"] button[aria-label^="Share"]');
  await page.locator("#share-form").waitFor({ timeout: 10000 });
  await page.selectOption("#share-mode", "drop");
  await page.fill("#share-description", "Homework for Anna 📚");
  await page.click("#share-form button[type=submit]");
  await page.locator("#share-url").waitFor({ timeout: 10000 });
  const dropLink = (await page.textContent("#share-url")).trim();
  if (!/\/s\/[A-Za-z0-9_-]{20,}$/.test(dropLink)) fail(`the link handed out: ${dropLink}`);
  await fits("the share dialog");
  await shot("files-share");
  await page.click("#share-close");
  await page.locator('#files-links .link-row[data-path="School 2026"]').filter({ hasText: "takes files" }).waitFor({ timeout: 10000 });
  const relative = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const guest = await relative.newPage();
  const guestProblems = [];
  guest.on("pageerror", (e) => guestProblems.push(`visitor page error: ${e.message}`));
  // The app asks who is signed in (nobody: 401) before it shows the link's page.
  guest.on("response", (r) => { if (r.status() >= 400 && !r.url().endsWith("/api/v1/me")) guestProblems.push(`${r.status()} from ${r.url()}`); });
  await guest.goto(dropLink);
  await guest.locator("#shared-drop-box").waitFor({ timeout: 10000 });
  if (await guest.locator("#shared-files").count()) fail("a drop box shows the folder");
  const sent = `${work}/Maths (Sept).pdf`;
  writeFileSync(sent, "%PDF-1.4 from grandpa");
  await guest.setInputFiles("#shared-drop", [sent]);
  await guest.locator("#shared-drop-status").filter({ hasText: "arrived as Maths (Sept) (1).pdf" }).waitFor({ timeout: 20000 });
  await guest.screenshot({ path: `${shots}/files-drop-box-visitor.png`, fullPage: true });
  if (guestProblems.length) fail(guestProblems.join("\n"));
  await page.goto(`${url}#/files/School%202026`);
  await page.locator('#files .file-row[data-name="Maths (Sept) (1).pdf"]').waitFor({ timeout: 10000 });
  const dropped = await page.evaluate(async (u) => (await fetch(u, { credentials: "same-origin" })).text(), `/dav/files/${name}/School%202026/Maths%20(Sept)%20(1).pdf`);
  if (dropped !== "%PDF-1.4 from grandpa") fail(`the dropped file: ${dropped}`);
  step("stop sharing: the relative's page says the link no longer works");
  await page.click('#files-links .link-row[data-path="School 2026"] button');
  await page.locator("#files-links").filter({ hasText: "No links yet" }).waitFor({ timeout: 10000 });
  await guest.reload();
  await guest.locator("#share-gone").waitFor({ timeout: 10000 });
  await relative.close();

  step("a folder downloads as one .zip");
  await page.goto(`${url}#/files`);
  const zipLink = page.locator('#files .file-row[data-name="School 2026"] a.file-zip');
  await zipLink.waitFor({ timeout: 10000 });
  const zip = await page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: "same-origin" });
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get("content-type"), magic: Array.from(b.slice(0, 4)).join(","), size: b.length };
  }, await zipLink.getAttribute("href"));
  if (zip.status !== 200 || zip.type !== "application/zip" || zip.magic !== "80,75,3,4" || zip.size < 100) fail(`the folder's zip: ${JSON.stringify(zip)}`);

  step("a Nextcloud app asks to log in; signed out, the page it opens asks to log in, then to allow it");
  const flow = await page.evaluate(async () => (await fetch("/index.php/login/v2", { method: "POST" })).json());
  const poll = (token) => page.evaluate(async (tok) => {
    const r = await fetch("/index.php/login/v2/poll", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `token=${tok}` });
    return { status: r.status, body: await r.json() };
  }, token);
  if ((await poll(flow.poll.token)).status !== 404) fail("the poll answered before anyone allowed it");
  await page.click("#account");
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.goto(flow.login);
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.locator("#login-flow-allow").waitFor({ timeout: 10000 });
  if (!(await page.locator("#login-flow").textContent()).includes("asks to reach your files")) fail("the grant page does not say what the app asks");
  await fits("Let an app in");
  await shot("files-login-flow");
  await page.click("#login-flow-allow");
  await page.locator("#login-flow-granted").waitFor({ timeout: 10000 });
  const granted = await poll(flow.poll.token);
  if (granted.status !== 200 || granted.body.loginName !== name || !granted.body.appPassword) fail(`the app got no password: ${JSON.stringify(granted)}`);
  const reach = await page.evaluate(async ([n, pw]) => (await fetch(`/remote.php/dav/files/${n}/`, {
    method: "PROPFIND", headers: { Authorization: "Basic " + btoa(`${n}:${pw}`), Depth: "0" }, credentials: "omit",
  })).status, [name, granted.body.appPassword]);
  if (reach !== 207) fail(`the app password does not reach the files: ${reach}`);
  if ((await poll(flow.poll.token)).status !== 404) fail("the app password was handed out twice");
  await page.goto(flow.login);
  await page.locator("#login-flow").filter({ hasText: "expired or was already used" }).waitFor({ timeout: 10000 });
});
