// The People page as a family uses it on a phone: the person the box grouped from three photos
// opened from the Photos page, named, their photos shown, a photo's info panel naming them and
// the things in it, found by name in search, hidden and shown again, and one photo's face given to
// someone else from the info panel, then one of several faces split off on the person's page into
// a new person who is named there. Nothing overflows the phone's width and any error in the console fails the test.
// Usage: node people.mjs URL NAME PASSWORD SCREENSHOT_DIR
import { logIn, runOnPhone } from "./phone.mjs";

const [url, name, password, shots] = process.argv.slice(2);
const fail = (msg) => { throw new Error(msg); };
const step = (what) => console.log(`- ${what}`);
const expectedFailure = (r) => r.status() === 401 && r.url().endsWith("/api/v1/me");

await runOnPhone("people", shots, { expectedFailure }, async ({ page, shot, fits }) => {
  step("log in, open People from the Photos page: one person, not named yet");
  await logIn(page, url, name, password);
  await page.click("#people-open");
  const card = page.locator("#people .person-card");
  await card.first().waitFor({ timeout: 10000 });
  if ((await card.count()) !== 1) fail(`${await card.count()} people shown, one expected`);
  if (!(await card.textContent()).includes("Add a name")) fail("the person is not shown as unnamed");
  if (!(await card.textContent()).includes("3 photos")) fail(`the card: ${await card.textContent()}`);
  const background = await page.locator("#people .face-crop").evaluate((e) => getComputedStyle(e).backgroundImage);
  if (!background.includes("/thumbnail")) fail(`the face is not drawn from a thumbnail: ${background}`);
  await fits("People");
  await shot("people");

  step("open them, name them: the name is kept, their three photos are there");
  await card.click();
  await page.locator("#person-assets .cell").nth(2).waitFor({ timeout: 10000 });
  await page.fill("#person-name", "Barack");
  await page.click("#person-name-form button[type=submit]");
  await page.locator("h1").filter({ hasText: "Barack" }).waitFor({ timeout: 10000 });
  if ((await page.locator("#person-assets .cell").count()) !== 3) fail("not three photos");
  await fits("a person");
  await shot("person");

  step("a photo's info panel names them and the things the box saw, each a way to more photos");
  await page.locator("#person-assets .cell").first().click();
  await page.locator(".viewer .info-toggle").click();
  await page.locator("#viewer-people a").filter({ hasText: "Barack" }).waitFor({ timeout: 10000 });
  const word = page.locator("#viewer-things a").first();
  await word.waitFor({ timeout: 10000 });
  const tag = (await word.textContent()).trim();
  await fits("the info panel");
  await shot("viewer-info-people-things");
  await word.click();
  await page.waitForURL((u) => u.hash.startsWith("#/search?") && u.hash.includes(encodeURIComponent(tag)), { timeout: 10000 });
  await page.locator("#search-results .cell").first().waitFor({ timeout: 10000 });
  if (await page.locator(".viewer").count()) fail("the viewer stayed over the search it opened");

  step("search finds their photos by the name");
  await page.goto(url + "#/search?q=barack");
  await page.locator("#search-results .cell").nth(2).waitFor({ timeout: 10000 });

  step("hidden: gone from the list, shown with the hidden ones, shown again");
  await page.goto(url + "#/people");
  await page.locator("#people .person-card").filter({ hasText: "Barack" }).click();
  await page.locator("#person-hide").filter({ hasText: "Hide" }).click();
  await page.locator("#person-hide").filter({ hasText: "Show this person again" }).waitFor({ timeout: 10000 });
  await page.goto(url + "#/people");
  await page.locator("#people .empty").waitFor({ timeout: 10000 });
  await page.click("#people-hidden");
  await page.locator("#people .person-card").filter({ hasText: "Hidden, 3 photos" }).click();
  await page.locator("#person-hide").filter({ hasText: "Show this person again" }).click();
  await page.locator("#person-hide").filter({ hasText: "Hide this person" }).waitFor({ timeout: 10000 });
  if (/\bnull\b|undefined/.test(await page.locator("main").textContent())) fail("the page shows null or undefined");

  step("one photo's face is someone else: fixed from the info panel, the person keeps the other two");
  await page.locator("#person-assets .cell").first().click();
  await page.locator(".viewer .info-toggle").click();
  await page.locator("#viewer-faces summary").click();
  const who = page.locator("#viewer-faces select").first();
  await who.waitFor({ timeout: 10000 });
  if (!(await who.inputValue()).startsWith("person:")) fail(`the face is not shown as Barack's: ${await who.inputValue()}`);
  await fits("who is in this photo");
  await shot("viewer-who-is-this");
  await who.selectOption("new");
  await page.locator("#toast").filter({ hasText: "keeps this face" }).waitFor({ timeout: 10000 });
  await page.keyboard.press("Escape");
  await page.goto(url + "#/people");
  await page.locator("#people .person-card").nth(1).waitFor({ timeout: 10000 });
  if (!(await page.locator("#people .person-card").filter({ hasText: "Barack" }).textContent()).includes("2 photos")) fail("Barack still has three photos");

  step("several faces at once: Barack's page shows his faces, one chosen becomes a new person to name");
  await page.locator("#people .person-card").filter({ hasText: "Barack" }).click();
  await page.locator("#person-faces .face-pick").nth(1).waitFor({ timeout: 10000 });
  if ((await page.locator("#person-faces .face-pick").count()) !== 2) fail("Barack's two faces are not shown");
  await page.click("#person-choose");
  if (!(await page.locator("#person-split").isDisabled())) fail("a split with nothing chosen is offered");
  await page.locator("#person-faces .face-pick").first().click();
  await page.locator('#person-faces .face-pick[aria-pressed="true"]').waitFor({ timeout: 10000 });
  if (page.url().includes("#/photos/")) fail("choosing a face opened its photo");
  await page.locator("#person-faces .face-pick").nth(1).click();
  if (!(await page.locator("#person-split").isDisabled())) fail("splitting off every face is offered");
  await page.locator("#person-faces .face-pick").nth(1).click();
  await fits("choosing faces");
  await shot("person-choose-faces");
  await page.click("#person-split");
  await page.locator("#toast").filter({ hasText: "a new person now" }).waitFor({ timeout: 10000 });
  await page.waitForFunction(() => /^#\/people\/\d+$/.test(location.hash) && document.querySelector("h1").textContent === "Add a name", null, { timeout: 10000 });
  await page.fill("#person-name", "Michelle");
  await page.click("#person-name-form button[type=submit]");
  await page.locator("h1").filter({ hasText: "Michelle" }).waitFor({ timeout: 10000 });
  if (!(await page.locator("#person-choose").isHidden())) fail("one face is offered for a split");
  await page.goto(url + "#/people");
  await page.locator("#people .person-card").nth(2).waitFor({ timeout: 10000 });
  if (!(await page.locator("#people .person-card").filter({ hasText: "Barack" }).textContent()).includes("1 photo")) fail("Barack kept the face split off");
  await page.locator("#people .person-card").filter({ hasText: "Michelle" }).waitFor({ timeout: 10000 });
});
