// A new box restored from the claim page: open the welcome page of an unclaimed box, choose
// "restore this box from a backup", give the USB folder and the recovery key as someone types
// it, and watch the restore; when it says restored, the test restarts hearthd (as the appliance
// restarts itself), and the page notices the box is back and goes to the login, where the old
// owner logs in. Any error in the browser's console fails the test.
// Usage: node recover.mjs URL USB_REPOSITORY RECOVERY_KEY NAME PASSWORD SCREENSHOT_DIR
// Prints READY when the test should restart hearthd.
import { runOnPhone } from "./phone.mjs";

const [url, repo, key, name, password, shots] = process.argv.slice(2);
const step = (what) => console.log(`- ${what}`);
// While hearthd restarts, the page's polls fail to connect (no response at all); once it is
// back, asking who is signed in before the login answers 401.
const expectedFailure = (r) => r.status() === 401 && r.url().endsWith("/api/v1/me");

await runOnPhone("recover", shots, { expectedFailure }, async ({ page, shot }) => {
  step("the welcome page of a new box offers to restore it from a backup");
  await page.goto(url);
  await page.locator("#claim").waitFor({ state: "visible", timeout: 10000 });
  await page.locator("#recover summary").click();
  await page.locator("#target-kind").waitFor({ timeout: 10000 });
  await page.selectOption("#target-kind", "folder");
  await page.fill("#t-path", repo);
  await page.fill("#recover-key", "this is not the key");
  await page.click("#recover button[type=submit]");
  await page.locator("#recover-status").filter({ hasText: "did not work" }).waitFor({ timeout: 60000 });
  await shot("recover-wrong-key");

  step("with the recovery key, typed in lower case with spaces");
  await page.fill("#recover-key", key.toLowerCase().replaceAll("-", " "));
  await page.click("#recover button[type=submit]");
  await page.locator("#recover-status").filter({ hasText: "Restored" }).waitFor({ timeout: 120000 });
  await shot("recover-ready");
  console.log("READY");

  step("the box restarts as the old one; the page goes to the login");
  await page.locator("#recover-status").filter({ hasText: "The box is back" }).waitFor({ timeout: 120000 });
  await page.locator("#login").waitFor({ state: "visible", timeout: 20000 });
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => location.hash.startsWith("#/photos"), null, { timeout: 20000 });
  await shot("recover-logged-in");
});
