// The sample patient app that `bedside serve --demo` serves at /apps/sample/ (plain HTML + the vendored
// fhirclient), in headless Chromium, both ways a newcomer meets it:
//
// - standalone: the link the demo prints at start-up (read from the server's output), sign in as the demo
//   patient, allow;
// - EHR launch: `bedside launch --patient … --user …`, then launch.html?iss=…&launch=…, sign in as the demo
//   practitioner, allow.
//
// Each time the app must land on index.html and show the patient's active CarePlan, its upcoming
// Appointments and its Goals, and the latest vital signs and lab results — checked against what the FHIR
// API returns for that patient (operator token), not against fixed strings — with no CSP violation and
// no script error. A full-page screenshot of each is saved to $CONFORMANCE_SCREENSHOTS, or
// conformance/js/screenshots/ (git-ignored).
//
// Run through run.sh, which starts the demo server.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { env, createLaunch, operatorToken } from "../lib/env.mjs";
import { launchBrowser, walkLaunch } from "../lib/browser.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = path.resolve(process.env.CONFORMANCE_SCREENSHOTS || path.join(here, "..", "screenshots"));
const PATIENT = "demo-patient-01";
const PRACTITIONER = "Practitioner/demo-practitioner-1";
const CLIENT_ID = "demo-app";
const STANDALONE_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs";
const EHR_SCOPE = "launch openid fhirUser offline_access patient/*.rs";
// Appointments with these statuses are not upcoming, whatever their date (as in the app).
const NOT_UPCOMING = ["cancelled", "noshow", "fulfilled", "entered-in-error"];
const FLOW_TIMEOUT = { timeout: 90_000 };

const appBase = () => `${env.baseUrl}/apps/sample`;

let browser;
let smartConfig;
let expected;

// --- what the FHIR API says about the patient ----------------------------------------------------------

async function fhir(token, query) {
  const resources = [];
  let url = `${env.fhirBase}/${query}`;
  while (url) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: "application/fhir+json" } });
    assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
    const bundle = await res.json();
    for (const e of bundle.entry ?? []) resources.push({ resource: e.resource, mode: e.search?.mode ?? "match" });
    url = bundle.link?.find((l) => l.relation === "next")?.url;
  }
  return resources;
}

const codeKey = (cc) => {
  const c = cc?.coding?.[0];
  return c ? `${c.system ?? ""}|${c.code ?? ""}` : `text|${cc?.text ?? ""}`;
};
const effective = (o) => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued ?? "";

/** code → the newest Observation of that code (ties: the smaller id, as the app does). */
function latestByCode(observations) {
  const sorted = [...observations].sort(
    (x, y) => Date.parse(effective(y)) - Date.parse(effective(x)) || (x.id < y.id ? -1 : 1),
  );
  const latest = new Map();
  for (const o of sorted) {
    if (o.status !== "entered-in-error" && !latest.has(codeKey(o.code))) latest.set(codeKey(o.code), o);
  }
  return latest;
}

async function expectedFor(patient) {
  const token = operatorToken("system/*.rs");
  const [pat] = await fhir(token, `Patient?_id=${patient}`);
  const found = await fhir(
    token,
    `CarePlan?patient=${patient}&status=active&_include=CarePlan:goal&_include=CarePlan:activity-reference&_count=50`,
  );
  const plans = found.filter((x) => x.mode === "match").map((x) => x.resource);
  const included = new Map(found.filter((x) => x.mode === "include").map((x) => [`${x.resource.resourceType}/${x.resource.id}`, x.resource]));
  const now = Date.now();
  const appointmentRefs = plans.flatMap((p) => (p.activity ?? []).map((a) => a.reference?.reference)).filter((r) => r?.startsWith("Appointment/"));
  const upcoming = [...new Set(appointmentRefs)]
    .map((r) => included.get(r))
    .filter((a) => a && a.start && Date.parse(a.start) >= now && !NOT_UPCOMING.includes(a.status))
    .sort((x, y) => Date.parse(x.start) - Date.parse(y.start));
  const goals = [...new Set(plans.flatMap((p) => (p.goal ?? []).map((g) => g.reference)))].map((r) => included.get(r));
  const observations = async (category) =>
    latestByCode((await fhir(token, `Observation?patient=${patient}&category=${category}&_count=1000`)).map((x) => x.resource));
  return {
    patient: pat.resource,
    plans,
    upcoming,
    goals,
    vitals: await observations("vital-signs"),
    labs: await observations("laboratory"),
  };
}

// --- what the page shows -------------------------------------------------------------------------------

/** Waits for the app to finish, saves a screenshot, and reads the page. */
function readPage(screenshot) {
  return async (page, explain) => {
    try {
      await page.waitForURL((u) => u.pathname.endsWith("/apps/sample/index.html"), { timeout: 30_000 });
      await page.locator('main[data-state="ready"], main[data-state="error"]').waitFor({ timeout: 30_000 });
    } catch (e) {
      throw await explain("the sample app did not finish", e);
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, screenshot);
    await page.screenshot({ path: file, fullPage: true });
    const shown = await page.evaluate(() => {
      const all = (sel) => [...document.querySelectorAll(sel)];
      const visible = (e) => !e.closest("[hidden]");
      const rows = (id) =>
        all(`#${id} tbody tr`).map((tr) => ({
          id: tr.dataset.id,
          code: tr.dataset.code,
          label: tr.querySelector("th").innerText.trim(),
          value: tr.querySelector("td.value").innerText.trim(),
        }));
      return {
        url: location.href,
        state: document.querySelector("main").dataset.state,
        busy: document.querySelector("main").getAttribute("aria-busy"),
        name: document.getElementById("patient-name").innerText.trim(),
        user: document.getElementById("user").innerText.trim(),
        manage: visible(document.getElementById("manage")) ? document.getElementById("manage").href : null,
        errors: all(".error").filter(visible).map((e) => e.innerText.trim()),
        sections: all("main section").filter(visible).map((s) => s.id),
        plans: all("#careplan article.plan").map((a) => ({ id: a.dataset.id, title: a.querySelector(".plan-title").innerText.trim(), text: a.innerText })),
        appointments: all("#appointments li[data-id]").map((li) => ({ id: li.dataset.id, text: li.innerText })),
        goals: all("#goals li[data-id]").map((li) => ({ id: li.dataset.id, text: li.innerText })),
        vitals: rows("vitals"),
        labs: rows("labs"),
      };
    });
    return { ...shown, screenshot: file };
  };
}

// --- the launches --------------------------------------------------------------------------------------

/** The standalone link `serve --demo` prints first (run.sh keeps the server's output in its log). */
function printedLink() {
  const text = readFileSync(env.serverLog, "utf8");
  const m = text.match(/^\s+(http\S+\/apps\/sample\/launch\.html\?iss=\S+)$/m);
  assert.ok(m, `the demo prints the sample app's link:\n${text.slice(0, 3000)}`);
  return m[1];
}

function context(run) {
  return `\npage: ${JSON.stringify(run.summary, null, 2)}\nbrowser log:\n  ${run.log.join("\n  ")}`;
}

function walk(startUrl, user, screenshot) {
  return walkLaunch(browser, {
    startUrl,
    authorizeUrl: smartConfig.authorization_endpoint,
    tokenUrl: smartConfig.token_endpoint,
    redirectUri: `${appBase()}/index.html`,
    ...user,
    finish: readPage(screenshot),
  });
}

before(async () => {
  const res = await fetch(`${env.fhirBase}/.well-known/smart-configuration`);
  assert.equal(res.status, 200);
  smartConfig = await res.json();
  expected = await expectedFor(PATIENT);
  browser = await launchBrowser(env.chromium);
}, FLOW_TIMEOUT);

after(async () => {
  await browser?.close();
  console.log(`sample app screenshots: ${SCREENSHOTS}`);
});

function assertAuthorize(run, scope, launch) {
  assert.equal(run.authorizeRequests.length, 1, `one authorize request${context(run)}`);
  const q = run.authorizeRequests[0].searchParams;
  assert.equal(q.get("client_id"), CLIENT_ID);
  assert.equal(q.get("redirect_uri"), `${appBase()}/index.html`);
  assert.equal(q.get("aud"), env.fhirBase);
  assert.equal(q.get("scope"), scope);
  assert.equal(q.get("launch"), launch ?? null);
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.equal(run.tokenResponses[0]?.status, 200, `token exchange${context(run)}`);
}

/** The page shows what the API holds for the patient. */
function assertCarePlanView(run) {
  const s = run.summary;
  assert.equal(s.state, "ready", `the app finished without a fatal error${context(run)}`);
  assert.equal(s.busy, "false");
  assert.deepEqual(s.errors, [], `no section failed${context(run)}`);
  assert.deepEqual(s.sections, ["careplan", "appointments", "goals", "vitals", "labs"]);
  const problems = run.log.filter((l) => /Content Security Policy|pageerror|Refused to/i.test(l));
  assert.deepEqual(problems, [], "no CSP violation, no script error");

  const name = expected.patient.name?.[0] ?? {};
  assert.ok(s.name.includes(name.family) && s.name.includes(name.given?.[0]), `the patient's name: ${s.name}`);

  assert.ok(expected.plans.length >= 1, "the demo patient has an active CarePlan");
  assert.deepEqual(s.plans.map((p) => p.id), expected.plans.map((p) => `CarePlan/${p.id}`));
  assert.deepEqual(s.plans.map((p) => p.title), expected.plans.map((p) => p.title));
  assert.ok(s.plans[0].text.includes(expected.plans[0].description), "the plan's description");

  assert.ok(expected.upcoming.length >= 1, "the plan has an upcoming Appointment");
  assert.deepEqual(s.appointments.map((a) => a.id), expected.upcoming.map((a) => `Appointment/${a.id}`), "upcoming, soonest first");
  for (const [i, a] of expected.upcoming.entries()) {
    if (a.description) assert.ok(s.appointments[i].text.includes(a.description), `${a.id}: ${s.appointments[i].text}`);
  }

  assert.ok(expected.goals.length >= 1, "the plan has Goals");
  assert.deepEqual(s.goals.map((g) => g.id).sort(), expected.goals.map((g) => `Goal/${g.id}`).sort());
  for (const g of expected.goals) {
    const li = s.goals.find((x) => x.id === `Goal/${g.id}`);
    assert.ok(li.text.includes(g.description.text), `${g.id}: ${li.text}`);
  }

  for (const kind of ["vitals", "labs"]) {
    const want = expected[kind];
    assert.ok(want.size >= 1, `the demo patient has ${kind}`);
    const got = new Map(s[kind].map((r) => [r.code, r]));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${kind}: one row per code`);
    for (const [code, o] of want) {
      const row = got.get(code);
      assert.equal(row.id, `Observation/${o.id}`, `${kind} ${code}: the newest`);
      const values = o.valueQuantity ? [o.valueQuantity.value] : (o.component ?? []).map((c) => c.valueQuantity?.value);
      for (const v of values.filter((v) => v !== undefined)) {
        assert.ok(row.value.includes(String(v)), `${kind} ${code}: ${row.value} shows ${v}`);
      }
    }
  }
}

describe("sample app: standalone launch from the link the demo prints, as the patient", () => {
  let run;
  let link;

  before(async () => {
    link = printedLink();
    run = await walk(link, { username: "demo-patient", password: "demo-patient-password" }, "sample-app-standalone.png");
  }, FLOW_TIMEOUT);

  it("the printed link is the server's launch.html with iss", () => {
    assert.equal(link, `${appBase()}/launch.html?iss=${env.fhirBase}`);
  });

  it("fhirclient authorizes as the demo app with PKCE and comes back to index.html", () => {
    assertAuthorize(run, STANDALONE_SCOPE);
    assert.ok(run.summary.url.startsWith(`${appBase()}/index.html`), run.summary.url);
  });

  it("shows the active care plan, upcoming appointments, goals, latest vital signs and lab results", () => {
    assertCarePlanView(run);
  });

  it("the patient sees who is signed in and where to manage connected apps", () => {
    assert.equal(run.summary.user, `Signed in as Patient/${PATIENT}`);
    assert.equal(run.summary.manage, smartConfig.management_endpoint);
  });
});

describe("sample app: EHR launch (bedside launch), as the practitioner", () => {
  let run;
  let launch;

  before(async () => {
    launch = createLaunch("--patient", PATIENT, "--user", PRACTITIONER);
    const start = `${appBase()}/launch.html?iss=${encodeURIComponent(env.fhirBase)}&launch=${encodeURIComponent(launch)}`;
    run = await walk(start, { username: "demo-practitioner", password: "demo-practitioner-password" }, "sample-app-ehr-launch.png");
  }, FLOW_TIMEOUT);

  it("fhirclient authorizes with the launch value and comes back to index.html", () => {
    assertAuthorize(run, EHR_SCOPE, launch);
    assert.ok(run.summary.url.startsWith(`${appBase()}/index.html`), run.summary.url);
  });

  it("shows the launched patient's care plan view", () => {
    assertCarePlanView(run);
  });

  it("names the practitioner and offers no patient's app management", () => {
    assert.equal(run.summary.user, `Signed in as ${PRACTITIONER}`);
    assert.equal(run.summary.manage, null);
  });
});
