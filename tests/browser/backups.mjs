// The Backups page as the owner uses it on a phone: make the recovery key (shown once, with a
// print button, continue only after saying it is kept), add a USB folder after testing the
// connection, add the nightly backup of everything, back up now and watch it finish, verify a
// restore (and see it on the Box page), browse the backup and restore a file as a copy. Nothing
// overflows the phone's width and any error in the browser's console fails the test.
// Usage: node backups.mjs URL NAME PASSWORD SCREENSHOT_DIR USB_FOLDER
import { runOnPhone } from "./phone.mjs";

const [url, name, password, shots, usb] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
// 401: who is signed in, asked before logging in; 400: the connection test of a relative path,
// on purpose.
const expectedFailure = (r) => (r.status() === 401 && r.url().endsWith("/api/v1/me")) || (r.status() === 400 && r.url().endsWith("/api/v1/backups/targets/test"));

await runOnPhone("backups", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in and open Backups: nothing is set up, and the page says so");
  await page.goto(url);
  await page.locator("#login").waitFor({ state: "visible", timeout: 10000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/photos"), null, { timeout: 10000 });
  await page.goto(url + "#/backups");
  await page.locator("#key-setup").waitFor({ timeout: 10000 });
  await page.locator('[data-alert="no_password"]').waitFor({ timeout: 10000 });
  await fits("Backups before set-up");

  step("make the recovery key: shown once, printable, continue only when kept");
  await page.click("#make-key");
  const key = (await page.locator(".recovery-key").textContent({ timeout: 10000 })).trim();
  if (!/^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/.test(key)) fail(`the recovery key looks wrong: ${key}`);
  if (!(await page.getByRole("button", { name: "Print it" }).count())) fail("no print button");
  const next = page.getByRole("button", { name: "Continue" });
  if (!(await next.isDisabled())) fail("continue is possible before the key is kept");
  await shot("backups-key");
  await page.check("#key-kept");
  await next.click();
  await page.locator("#add-target").waitFor({ timeout: 10000 });
  if (await page.locator(".recovery-key").count()) fail("the key is still shown");
  if ((await page.content()).includes(key)) fail("the key is shown again");

  step("add the USB folder: test the connection, then save");
  await page.fill("#target-name", "USB disk");
  await page.selectOption("#target-kind", "folder");
  await page.fill("#t-path", "relative/path");
  await page.click("#target-test");
  await page.locator("#add-target .error").filter({ hasText: "absolute" }).waitFor({ timeout: 10000 });
  await page.fill("#t-path", `${usb}/hearth`);
  await page.click("#target-test");
  await page.locator("#target-result").filter({ hasText: "It is empty" }).waitFor({ timeout: 20000 });
  await page.click("#add-target button[type=submit]");
  await page.locator("#backup-targets li[data-target]").waitFor({ timeout: 30000 });
  await fits("Backups with a target");

  step("add the nightly backup of everything and back up now");
  await page.locator("#add-job").waitFor({ timeout: 10000 });
  await page.click("#add-job button[type=submit]");
  const job = page.locator("#backup-jobs li[data-job]");
  await job.waitFor({ timeout: 10000 });
  if (!/every day at 03:00/.test(await job.textContent())) fail(`the job's line: ${await job.textContent()}`);
  await job.getByRole("button", { name: "Back up now" }).click();
  await page.locator('#backup-jobs li[data-job][data-state="succeeded"]').waitFor({ timeout: 120000 });
  const line = await page.locator("#backup-jobs .last-run").textContent();
  if (!/Done/.test(line) || !/new/.test(line)) fail(`the finished run says: ${line}`);
  await shot("backups-done");

  step("verify a restore now");
  await page.locator("#backup-targets li[data-target]").getByRole("button", { name: "Verify now" }).click();
  await page.locator("#backup-targets .last-drill.succeeded").filter({ hasText: "Last verified restore" }).waitFor({ timeout: 120000 });
  const drill = await page.locator("#backup-targets .last-drill").textContent();
  if (!/all identical/.test(drill)) fail(`the drill says: ${drill}`);

  step("the Box page says when a restore was last verified");
  await page.goto(url + "#/box");
  await page.locator("#last-verified").filter({ hasText: "last verified restore" }).waitFor({ timeout: 20000 });
  await page.goto(url + "#/backups");
  await page.locator("#backup-targets li[data-target]").waitFor({ timeout: 20000 });

  step("browse the backup and restore a file as a copy");
  await page.locator("#backup-targets li[data-target]").getByRole("button", { name: "Restore…" }).click();
  await page.locator("#snapshot-entries li[data-entry]").first().waitFor({ timeout: 20000 });
  // The data folder, then down to the family's documents.
  await page.locator("#snapshot-entries li[data-entry] button.link").first().click();
  for (const folder of ["users", "ada", "files", "Documents"]) {
    await page.locator(`#snapshot-entries li[data-entry="${folder}"] button.link`).click();
  }
  const file = page.locator('#snapshot-entries li[data-entry="recipe ü.txt"]');
  await file.waitFor({ timeout: 20000 });
  await fits("the restore browser");
  await file.getByRole("button", { name: "Restore as a copy" }).click();
  await page.locator("#restore-status").filter({ hasText: "Done" }).waitFor({ timeout: 60000 });
  await shot("backups-restored");
});
