// Headless Chromium (the system one, never a downloaded browser) driven by playwright-core, and one SMART
// launch walked through the way a person does it: the app redirects, the person signs in on Bedside's
// real login form, (un)ticks choices on the consent page, allows, and the app finishes on its redirect URI.
import { chromium } from "playwright-core";
import { existsSync } from "node:fs";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser(executablePath) {
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (apt-get install chromium)`);
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Walks one launch in a fresh browser context (no cookies or storage from another run).
 *
 * @param {import('playwright-core').Browser} browser
 * @param {object} o
 * @param {string} o.startUrl       the app URL the launch starts at (launch.html…)
 * @param {string} o.authorizeUrl   Bedside's authorization_endpoint
 * @param {string} o.tokenUrl       Bedside's token_endpoint
 * @param {string} o.redirectUri    the app's registered redirect URI
 * @param {string} o.username
 * @param {string} o.password
 * @param {string[]} [o.untick]     consent checkbox values to untick before allowing
 * @param {"allow"|"deny"} [o.decision]  the consent button to press (default allow)
 * @param {(page: import('playwright-core').Page, explain: (what: string, e: Error) => Promise<Error>) => Promise<object>} [o.finish]
 *        reads what the app shows once it is back on its redirect URI, in the same page (default: the JSON
 *        the test app writes into #result); returned as `summary`
 * @returns {Promise<{summary: object, authorizeRequests: URL[], redirects: URL[], tokenRequests: {body: URLSearchParams, origin: string|undefined}[], tokenResponses: {status: number, headers: object}[], consentChoices: {value: string, checked: boolean, label: string}[], log: string[]}>}
 */
export async function walkLaunch(browser, o) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const log = [];
  const authorizeRequests = [];
  const redirects = [];
  const tokenRequests = [];
  const tokenResponses = [];
  page.on("request", (r) => {
    const url = r.url();
    log.push(`> ${r.method()} ${url}`);
    if (url.startsWith(o.authorizeUrl)) authorizeRequests.push(new URL(url));
    if (url.startsWith(o.redirectUri)) redirects.push(new URL(url));
    if (url === o.tokenUrl && r.method() === "POST") {
      tokenRequests.push({ body: new URLSearchParams(r.postData() || ""), origin: r.headers()["origin"] });
    }
  });
  page.on("response", (r) => {
    log.push(`< ${r.status()} ${r.request().method()} ${r.url()}`);
    if (r.url() === o.tokenUrl && r.request().method() === "POST") {
      tokenResponses.push({ status: r.status(), headers: r.headers() });
    }
  });
  page.on("requestfailed", (r) => log.push(`x ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));

  const explain = async (what, e) => {
    let body = "";
    try {
      body = (await page.locator("body").innerText({ timeout: 1_000 })).slice(0, 1_500);
    } catch {}
    return new Error(`${what}: ${e.message}\n  page: ${page.url()}\n  page text: ${body}\n  browser log:\n    ${log.join("\n    ")}`);
  };

  try {
    await page.goto(o.startUrl);

    // Bedside's sign-in page.
    const loginForm = page.locator('form[action$="/auth/login"]');
    try {
      await loginForm.waitFor();
    } catch (e) {
      throw await explain("no sign-in form", e);
    }
    await loginForm.locator('input[name="username"]').fill(o.username);
    await loginForm.locator('input[name="password"]').fill(o.password);
    await loginForm.locator('button[type="submit"]').click();

    // The consent page.
    const consentForm = page.locator('form[action$="/auth/consent"]');
    try {
      await consentForm.waitFor();
    } catch (e) {
      throw await explain("no consent form after signing in", e);
    }
    const consentChoices = await consentForm.locator('input[type="checkbox"][name="scope"]').evaluateAll((boxes) =>
      boxes.map((b) => ({ value: b.value, checked: b.checked, label: b.closest("label")?.innerText.trim() ?? "" })),
    );
    for (const value of o.untick || []) {
      const box = consentForm.locator(`input[type="checkbox"][name="scope"][value="${value}"]`);
      if ((await box.count()) !== 1) throw await explain(`no consent choice ${value}`, new Error("not found"));
      await box.uncheck();
    }
    await consentForm.locator(`button[name="decision"][value="${o.decision ?? "allow"}"]`).click();

    // Back in the app.
    const summary = await (o.finish ?? readResult)(page, explain);
    return { summary, authorizeRequests, redirects, tokenRequests, tokenResponses, consentChoices, log };
  } finally {
    await context.close();
  }
}

/** The test app's index.html runs FHIR.oauth2.ready() and its requests, then writes a JSON summary into #result. */
async function readResult(page, explain) {
  let text;
  try {
    text = await page.locator("#result").textContent({ timeout: 30_000 });
  } catch (e) {
    throw await explain("the app wrote no result", e);
  }
  return JSON.parse(text);
}
