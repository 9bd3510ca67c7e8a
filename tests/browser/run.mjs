// folio's web app in a real browser, as readers and a shop keeper use it: every flow of
// issue 18, with screenshots at 390×844 and 1280×800 and an axe-core check of each page.
// Run by .ci/browser, which starts folio with a fresh database and the test checkout on:
//   node run.mjs BASE_URL WORK_DIR

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Api, PASSWORD, assert, axeSummary, context, launch, look, root } from "./lib.mjs";

const [base, work] = process.argv.slice(2);
assert.ok(base && work, "usage: node run.mjs BASE_URL WORK_DIR");
const fixtures = join(root, "tests", "fixtures", "media");
const started = Date.now();
const step = (what) => console.log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${what}`);

// The catalog, made through the JSON API as a keeper's script would.
const api = new Api(base);
await api.signIn("keeper");
const author = await api.call("POST", "/authors", { name: "Iris Keeper" });
const book = await api.call("POST", "/books", {
  title: "The Lighthouse",
  author_ids: [author.id],
  description: "A keeper, a storm and the light.",
  original_year: 2021,
});
const ebook = await api.call("POST", `/books/${book.id}/editions`, {
  format: "ebook", price_minor: 499, currency: "EUR", access: "buyers",
});
const epub = readFileSync(join(work, "three.epub"));
await api.upload(ebook.id, [["lighthouse.epub", epub, "application/epub+zip"]]);
const audiobook = await api.call("POST", `/books/${book.id}/editions`, { format: "audiobook", access: "members" });
await api.upload(audiobook.id, [
  ["1.mp3", readFileSync(join(fixtures, "track1.mp3")), "audio/mpeg"],
  ["2.mp3", readFileSync(join(fixtures, "track2.mp3")), "audio/mpeg"],
]);
for (const title of ["Harbour Lights", "Tides", "The Storm Log"]) {
  await api.call("POST", "/books", { title, author_ids: [author.id] });
}
step("catalog seeded");

const browser = await launch();
const visited = []; // [name, url, who] for the phone-sized pass
let failed = false;
try {
  const { ctx, page } = await context(browser, "desktop");
  const see = async (name) => { await look(page, name, "desktop"); visited.push([name, page.url(), "reader"]); };

  // Home, as a visitor.
  await page.goto(`${base}/`);
  await page.getByRole("heading", { name: "New" }).waitFor();
  await page.getByRole("link", { name: "The Lighthouse" }).first().waitFor();
  await look(page, "home", "desktop");
  visited.push(["home", page.url(), "visitor"]);
  step("home");

  // Register, sign out, sign in.
  await page.getByRole("link", { name: "Register" }).click();
  await page.getByLabel("Username", { exact: true }).fill("reader1");
  await page.getByLabel("Email").fill("reader1@example.org");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Username or email").fill("reader1");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  step("registered, signed out and in");

  // Search and open the book.
  await page.getByRole("searchbox", { name: "Search books" }).fill("lighthouse");
  await page.getByRole("searchbox", { name: "Search books" }).press("Enter");
  await page.getByRole("heading", { name: "Results for “lighthouse”" }).waitFor();
  await see("search");
  await page.getByRole("link", { name: "The Lighthouse" }).first().click();
  await page.getByRole("heading", { level: 1, name: "The Lighthouse" }).waitFor();
  step("searched and opened the book");

  // Comment with a rating.
  await page.getByLabel("Your comment").fill("A beam across dark water.");
  await page.getByLabel("Your rating").selectOption("4");
  await page.getByRole("button", { name: "Post comment" }).click();
  await page.getByRole("img", { name: "4 stars of 5" }).waitFor();
  await see("book");
  step("commented with 4 stars");

  // Buy in test mode; a double click buys once.
  const buy = page.getByRole("button", { name: "Buy the E-book edition" });
  await buy.dblclick();
  await page.getByRole("heading", { name: "Test checkout" }).waitFor();
  await page.getByRole("button", { name: "Pay", exact: true }).click();
  await page.getByText("Paid. The edition is in your library.").waitFor();
  const purchases = await fetch(`${base}/api/v1/purchases`, { headers: { authorization: `Bearer ${api.token}` } }).then((r) => r.json());
  assert.equal(purchases.items.filter((p) => p.edition_id === ebook.id).length, 1, "one purchase for a double click");
  await page.getByRole("link", { name: "My library" }).first().click();
  await page.getByRole("heading", { level: 3, name: "The Lighthouse" }).waitFor();
  await see("library");
  step("bought in test mode; in the library");

  // The account page: the reading apps' addresses, a key shown once.
  await page.getByRole("link", { name: "Account: reader1" }).click();
  await page.getByRole("heading", { level: 1, name: "Your account" }).waitFor();
  await page.getByLabel("What the key is for").fill("Kobo");
  await page.getByRole("button", { name: "Create a key" }).click();
  await page.getByText("Your new key. Copy it now: it is not shown again.").waitFor();
  await see("account");
  await page.goto(`${base}/library`);
  step("account page: a key made");

  // Read chapter 2, open the book again: chapter 2.
  await page.getByRole("link", { name: "Read", exact: true }).click();
  await page.getByText("Chapter 1 of 3").first().waitFor();
  const saved = page.waitForResponse((r) => r.url().includes("/position") && r.request().method() === "POST");
  await page.getByRole("link", { name: "Next chapter →" }).click();
  await page.getByRole("heading", { name: "Chapter 2: The Storm" }).waitFor();
  assert.equal((await saved).status(), 200);
  await page.mouse.wheel(0, 600);
  await page.waitForTimeout(2_000);
  await see("reader");
  await page.goto(`${base}/read/${ebook.id}`);
  await page.getByRole("heading", { name: "Chapter 2: The Storm" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Chapter 2: The Storm" }).waitFor();
  step("read chapter 2; opened again at chapter 2");

  // The player starts where the reading is; play a few seconds; reload to the same second.
  await page.goto(`${base}/books/${book.id}`);
  await page.getByRole("link", { name: "Listen", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "The Lighthouse" }).waitFor();
  const bookTime = () => page.evaluate(() => {
    const p = document.getElementById("player").dataset;
    const a = document.getElementById("audio");
    const plan = JSON.parse(document.getElementById("plan").textContent);
    let start = 0;
    for (const t of plan.tracks) { if (a.src.endsWith(t.href)) break; start += t.duration; }
    return { at: start + a.currentTime, start: Number(p.start), total: Number(p.total) };
  });
  const opened = await bookTime();
  assert.ok(opened.start / opened.total > 0.3 && opened.start / opened.total < 0.67, `the player opens at the reader's chapter 2: ${JSON.stringify(opened)}`);
  await page.getByRole("button", { name: "Play" }).click();
  await page.waitForFunction(() => !document.getElementById("audio").paused);
  await page.waitForTimeout(3_000);
  const paused = page.waitForResponse((r) => r.url().includes("/listen/") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Pause" }).click();
  assert.equal((await paused).status(), 200);
  const heard = await bookTime();
  assert.ok(heard.at - opened.start >= 2, `it played: ${JSON.stringify({ opened, heard })}`);
  await see("player");
  await page.reload();
  await page.waitForFunction(() => document.getElementById("audio").readyState >= 1);
  const back = await bookTime();
  assert.ok(Math.abs(back.at - heard.at) <= 2, `reloaded to the same second: ${heard.at} → ${back.at}`);
  step(`played to ${heard.at.toFixed(1)} s; reloaded at ${back.at.toFixed(1)} s`);

  // From the player to the reader: the first chapter's start is the EPUB's chapter 1.
  await page.getByRole("button", { name: "First half" }).click();
  await page.waitForFunction(() => !document.getElementById("audio").paused);
  await page.waitForTimeout(500);
  const moved = page.waitForResponse((r) => r.url().includes("/listen/") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Pause" }).click();
  assert.equal((await moved).status(), 200);
  await page.goto(`${base}/read/${ebook.id}`);
  await page.getByRole("heading", { name: "Chapter 1: The Keeper" }).waitFor();
  step("player → reader: chapter 1");

  // The page's scripts ran without an error.
  assert.deepEqual(page.scriptErrors, [], "no script errors on the reader's pages");
  await ctx.close();

  // The shop keeper adds a book and uploads its EPUB with a progress bar, then applies it.
  const keeper = await context(browser, "desktop");
  const k = keeper.page;
  await k.goto(`${base}/signin`);
  await k.getByLabel("Username or email").fill("keeper");
  await k.getByLabel("Password").fill(PASSWORD);
  await k.getByRole("button", { name: "Sign in" }).click();
  await k.getByRole("link", { name: "Shop" }).click();
  await k.getByLabel("Title", { exact: true }).fill("A Second Light");
  await k.getByLabel("Authors").fill("Iris Keeper");
  await k.getByRole("button", { name: "Add the book" }).click();
  await k.getByRole("heading", { level: 1, name: "A Second Light" }).waitFor();
  await k.getByLabel("Format", { exact: true }).selectOption("ebook");
  await k.getByLabel("Who may read it").selectOption("public");
  await k.getByRole("button", { name: "Add the edition" }).click();
  await k.getByLabel(/^Files/).setInputFiles(join(work, "three.epub"));
  const progress = k.getByRole("progressbar", { name: "Upload progress" });
  // A small EPUB on 127.0.0.1 uploads in a few milliseconds and the page reloads at once, so the
  // bar could come and go between two polls: the upload is held at the browser until it is seen.
  let release;
  const held = new Promise((resolve) => (release = resolve));
  const isUpload = (url) => url.pathname.endsWith("/files");
  await k.route(isUpload, async (route) => {
    if (route.request().method() === "POST") await held;
    await route.continue();
  });
  const uploaded = k.waitForResponse((r) => r.url().includes("/files") && r.request().method() === "POST");
  await k.getByRole("button", { name: "Upload" }).click();
  await progress.waitFor({ state: "visible" });
  release();
  assert.equal((await uploaded).status(), 200);
  await k.unroute(isUpload);
  await k.getByText("Harbour Press").first().waitFor();
  await k.getByRole("button", { name: "Fill in from the files" }).click();
  await k.getByRole("heading", { level: 3, name: /E-book/ }).waitFor();
  const facts = await k.locator(".edition-admin .facts").first().textContent();
  assert.ok(facts.includes("Harbour Press") && facts.includes("9780000000019"), `applied: ${facts}`);
  step("keeper uploaded an EPUB with a progress bar and applied its metadata");

  // An audiobook edition with its M4B: its length and tags read from the file and applied.
  const newEdition = k.getByRole("form", { name: "Add an edition" });
  await newEdition.getByLabel("Format", { exact: true }).selectOption("audiobook");
  await newEdition.getByLabel("Who may read it").selectOption("members");
  await newEdition.getByRole("button", { name: "Add the edition" }).click();
  const audio = k.getByRole("article", { name: /^Audiobook/ });
  await audio.getByLabel(/^Files/).setInputFiles(join(fixtures, "book.m4b"));
  const sent = k.waitForResponse((r) => r.url().includes("/files") && r.request().method() === "POST");
  await audio.getByRole("button", { name: "Upload" }).click();
  assert.equal((await sent).status(), 200);
  await audio.getByText("The Sine Book").first().waitFor();
  await audio.getByRole("button", { name: "Fill in from the files" }).click();
  await k.getByRole("article", { name: /^Audiobook/ }).locator(".facts").getByText("0 min 20 s").waitFor();
  step("keeper uploaded an M4B and applied what it says");

  // The e-book priced after all, from its edit form.
  const ebookAdmin = k.getByRole("article", { name: /^E-book/ });
  await ebookAdmin.getByText("Edit this edition").click();
  await ebookAdmin.getByLabel("Who may read it").selectOption("buyers");
  await ebookAdmin.getByLabel("Price").fill("3.99");
  await ebookAdmin.getByLabel("Currency").fill("EUR");
  await ebookAdmin.getByRole("button", { name: "Save" }).click();
  await k.getByRole("heading", { level: 3, name: /^E-book · .*3\.99 · Buyers$/ }).waitFor();
  await look(k, "admin", "desktop");
  visited.push(["admin", k.url(), "keeper"]);
  step("keeper priced the e-book from its edit form");

  await k.goto(`${base}/admin/categories`);
  await k.getByLabel("Name", { exact: true }).first().fill("Sea stories");
  await k.getByRole("button", { name: "Add the category" }).click();
  await k.getByRole("link", { name: "Sea stories" }).waitFor();
  await look(k, "admin-categories", "desktop");
  visited.push(["admin-categories", k.url(), "keeper"]);
  await k.getByRole("button", { name: "Sign out" }).click();
  await k.getByRole("link", { name: "Sign in" }).waitFor();
  step("keeper added a category and signed out");
  assert.deepEqual(k.scriptErrors, [], "no script errors on the keeper's pages");
  await keeper.ctx.close();

  // The same pages on a phone.
  const phones = {};
  for (const who of ["visitor", "reader", "keeper"]) {
    phones[who] = await context(browser, "phone");
    if (who !== "visitor") {
      const p = phones[who].page;
      await p.goto(`${base}/signin`);
      await p.getByLabel("Username or email").fill(who === "reader" ? "reader1" : "keeper");
      await p.getByLabel("Password").fill(PASSWORD);
      await p.getByRole("button", { name: "Sign in" }).click();
      await p.getByRole("button", { name: "Sign out" }).waitFor();
    }
  }
  for (const [name, url, who] of visited) {
    const p = phones[who].page;
    await p.goto(url);
    await p.waitForLoadState("load");
    await look(p, name, "phone");
  }
  step("phone-sized pages");
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await browser.close();
}

const { table, blocking } = axeSummary();
console.log(`\naxe-core (violations by impact):\n${table}`);
if (blocking.length > 0) {
  console.error(`\nserious or critical accessibility violations:\n${blocking.join("\n")}`);
  failed = true;
}
console.log(`\n${failed ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in target/screenshots/`);
process.exit(failed ? 1 : 0);
