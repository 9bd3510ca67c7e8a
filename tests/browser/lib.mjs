// What every flow of the browser tests shares: the browser, pages at the two sizes, the JSON
// API for seeding, screenshots and the accessibility check.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const shots = join(root, "target", "screenshots");
const axePath = join(here, "node_modules", "axe-core", "axe.min.js");

export const PASSWORD = "correct horse battery staple";
export const SIZES = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 800 } };
/** Waits never longer than this: a stuck page fails the run instead of hanging CI. */
export const TIMEOUT = 15_000;

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

/** A browser context of its own (its own cookies) at a size; CSP bypassed only so axe-core
 * can be injected for the check. */
export async function context(browser, size = "desktop") {
  const ctx = await browser.newContext({
    viewport: SIZES[size],
    bypassCSP: true,
    locale: "en-US",
    extraHTTPHeaders: { "accept-language": "en-US,en;q=0.9" },
  });
  ctx.setDefaultTimeout(TIMEOUT);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${m.text()} (${m.location().url})`); });
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  page.scriptErrors = errors;
  return { ctx, page };
}

/** The JSON API as the seeding admin uses it. */
export class Api {
  constructor(base) { this.base = base; this.token = null; }

  async call(method, path, body, raw) {
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload = body;
    if (body && !raw) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${this.base}/api/v1${path}`, { method, headers, body: payload });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async signIn(username) {
    const tokens = await this.call("POST", "/auth/login", { username, password: PASSWORD });
    this.token = tokens.access_token;
  }

  async upload(edition, files) {
    const form = new FormData();
    for (const [name, bytes, type] of files) form.append("file", new Blob([bytes], { type }), name);
    return this.call("POST", `/editions/${edition}/files`, form, true);
  }
}

const results = [];

/** A screenshot of the page as it is, and the axe-core check of it; serious or critical
 * violations fail the run at the end, with what and where. */
export async function look(page, name, size) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}-${SIZES[size].width}.png`) });
  await page.addScriptTag({ path: axePath });
  const report = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  });
  results.push({ page: name, size, url: page.url(), violations: report });
}

export function axeSummary() {
  writeFileSync(join(shots, "axe.json"), JSON.stringify(results, null, 2));
  const lines = ["page           size     critical serious moderate minor"];
  let blocking = [];
  for (const r of results) {
    const count = (impact) => r.violations.filter((v) => v.impact === impact).length;
    lines.push(
      `${r.page.padEnd(14)} ${r.size.padEnd(8)} ${String(count("critical")).padStart(8)} ${String(count("serious")).padStart(7)} ${String(count("moderate")).padStart(8)} ${String(count("minor")).padStart(5)}`,
    );
    blocking = blocking.concat(
      r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${r.page} (${r.size}): ${v.impact} ${v.id} — ${v.help} — ${v.nodes.join(", ")}`),
    );
  }
  return { table: lines.join("\n"), blocking };
}

export { assert };
