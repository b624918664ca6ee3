// The Calendars & contacts page as a family uses it on a phone: the box's own calendar and
// address book are there, a calendar is made, renamed and (after an event reaches it over CalDAV
// with the app password the page made, as a phone would send it) shows its count, then is
// deleted in two steps; the address to type and the QR code for DAVx⁵ are shown. Nothing
// overflows the phone's width and any error in the console fails the test.
// It is shared with another member, who sees it on their page and leaves it.
// Usage: node calendars.mjs URL NAME PASSWORD SCREENSHOT_DIR MEMBER MEMBER_PASSWORD
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots, member, memberPassword] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
// Signed out at first: the app asks who is signed in and hears 401.
const expectedFailure = (r) => r.status() === 401 && r.url().endsWith("/api/v1/me");

await runOnPhone("calendars", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in, open Calendars & contacts from Phones and computers: the defaults are there");
  await logIn(page, url, name, password);
  await page.click('#nav a[data-page="devices"]');
  await page.click("#calendars-open");
  await page.locator('#calendar-list li[data-name="personal"]').filter({ hasText: "Personal" }).waitFor({ timeout: 10000 });
  await page.locator('#addressbook-list li[data-name="contacts"]').filter({ hasText: "Contacts" }).waitFor({ timeout: 10000 });
  const address = await page.textContent("#dav-address");
  if (address.trim() !== new URL("/dav/", url).href) fail(`the address to type: ${address}`);

  step("make a calendar with a name of any script, rename it");
  await page.fill("#new-calendar-name", "École ✓");
  await page.click("#new-calendar button[type=submit]");
  const made = page.locator("#calendar-list li").filter({ hasText: "École ✓" });
  await made.waitFor({ timeout: 10000 });
  const address_name = await made.getAttribute("data-name");
  if (address_name !== "cole") fail(`the new calendar's address name: ${address_name}`);
  await made.getByRole("button", { name: "Rename" }).click();
  await page.locator(`#calendar-list li[data-name="${address_name}"] input`).fill("School");
  await page.locator(`#calendar-list li[data-name="${address_name}"] form button[type=submit]`).click();
  const school = page.locator(`#calendar-list li[data-name="${address_name}"]`).filter({ hasText: "School" });
  await school.waitFor({ timeout: 10000 });
  await fits("Calendars & contacts");

  step("an app password for a phone, with its QR code; an event sent with it over CalDAV is counted");
  await page.click("#connect-phone");
  await page.locator("#connect-secret img.qr").waitFor({ timeout: 10000 });
  const secret = (await page.textContent("#calendar-secret")).trim();
  const status = await page.evaluate(async ({ user, secret, calendar }) => {
    const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nBEGIN:VEVENT\r\nUID:trip\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240601T080000Z\r\nDTEND:20240601T170000Z\r\nSUMMARY:School trip\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    const r = await fetch(`/dav/calendars/${user}/${calendar}/trip.ics`, {
      method: "PUT", credentials: "omit", body: ics,
      headers: { "Content-Type": "text/calendar", "If-None-Match": "*", Authorization: `Basic ${btoa(`${user}:${secret}`)}` },
    });
    return r.status;
  }, { user: name, secret, calendar: address_name });
  if (status !== 201) fail(`the phone's PUT: ${status}`);
  await fits("the app password and its QR code");
  await shot("calendars-phone");
  await page.reload();
  await page.locator(`#calendar-list li[data-name="${address_name}"]`).filter({ hasText: "1 event or task" }).waitFor({ timeout: 10000 });

  step("share it with another member, who can change it; they see it and leave it");
  await page.locator(`#calendar-list li[data-name="${address_name}"] .row-actions button`).filter({ hasText: "Share" }).click();
  await page.locator(`#calendar-list li[data-name="${address_name}"] .collection-share input`).fill(member);
  await page.locator(`#calendar-list li[data-name="${address_name}"] .collection-share select`).selectOption("write");
  await page.locator(`#calendar-list li[data-name="${address_name}"] .collection-share button[type=submit]`).click();
  await page.locator(`#calendar-list li[data-name="${address_name}"]`).filter({ hasText: `Shared with ${member}` }).waitFor({ timeout: 10000 });
  await fits("a shared calendar");
  await page.click("#account");
  await logIn(page, url, member, memberPassword);
  await page.goto(url + "#/calendars");
  const theirs = page.locator(`#calendar-list li[data-name="${name}~${address_name}"]`);
  await theirs.filter({ hasText: `${name} shares it with you to change` }).filter({ hasText: "1 event or task" }).waitFor({ timeout: 10000 });
  await shot("calendars-shared-phone");
  await theirs.getByRole("button", { name: "Leave" }).click();
  await theirs.waitFor({ state: "detached", timeout: 10000 });
  await page.click("#account");
  await logIn(page, url, name, password);
  await page.goto(url + "#/calendars");
  await page.locator(`#calendar-list li[data-name="${address_name}"]`).waitFor({ timeout: 10000 });
  if ((await page.locator(`#calendar-list li[data-name="${address_name}"]`).textContent()).includes("Shared with")) fail("the member who left is still listed");

  step("delete it: the first tap asks, the second deletes");
  const remove = page.locator(`#calendar-list li[data-name="${address_name}"] button.danger`);
  await remove.click();
  await remove.filter({ hasText: "Delete it and its 1?" }).waitFor({ timeout: 10000 });
  await remove.click();
  await page.locator(`#calendar-list li[data-name="${address_name}"]`).waitFor({ state: "detached", timeout: 10000 });
  if (!(await page.locator('#calendar-list li[data-name="personal"]').count())) fail("the other calendar went too");
});
