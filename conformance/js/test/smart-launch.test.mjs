// SMART Health IT's JS fhirclient (the browser bundle, as apps ship it) in headless Chromium against a
// running Bedside: an EHR launch as the demo practitioner and a standalone launch as the demo patient,
// both through Bedside's real sign-in and consent pages, both with PKCE; and a user who says no.
//
// Run through run.sh, which starts the server and registers the app (client_id, redirect URI).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";

import { env, createLaunch, operatorToken } from "../lib/env.mjs";
import { startAppServer } from "../lib/app-server.mjs";
import { launchBrowser, walkLaunch } from "../lib/browser.mjs";

const EHR_SCOPE = "launch openid fhirUser patient/*.rs offline_access";
const STANDALONE_SCOPE = "launch/patient openid fhirUser patient/*.rs";
const PATIENT = "demo-patient-01";
const PRACTITIONER = "Practitioner/demo-practitioner-1";
const INTENT = "reconcile-medications";
const FLOW_TIMEOUT = { timeout: 90_000 };

let app;
let browser;
let smartConfig;
let jwks;

before(async () => {
  let res = await fetch(`${env.fhirBase}/.well-known/smart-configuration`);
  assert.equal(res.status, 200, "smart-configuration");
  smartConfig = await res.json();
  res = await fetch(`${env.fhirBase}/.well-known/openid-configuration`);
  assert.equal(res.status, 200, "openid-configuration");
  res = await fetch((await res.json()).jwks_uri);
  assert.equal(res.status, 200, "jwks_uri");
  jwks = await res.json();
  app = await startAppServer({
    port: env.appPort,
    config: { clientId: env.clientId, fhirBase: env.fhirBase, ehrScope: EHR_SCOPE, standaloneScope: STANDALONE_SCOPE },
  });
  browser = await launchBrowser(env.chromium);
}, FLOW_TIMEOUT);

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (app ? app.server.close(resolve) : resolve()));
});

// The app is served on two origins, both registered: http://127.0.0.1:APP_PORT, the same site as Bedside
// (only the port differs), and http://localhost:APP_PORT, another site, as a third-party app is in real
// life (cross-site redirects, CORS and SameSite cookies behave as in production).
const SAME_SITE = () => `http://127.0.0.1:${env.appPort}`;
const CROSS_SITE = () => `http://localhost:${env.appPort}`;

function walk(origin, path, user) {
  return walkLaunch(browser, {
    startUrl: `${origin}${path}`,
    authorizeUrl: smartConfig.authorization_endpoint,
    tokenUrl: smartConfig.token_endpoint,
    redirectUri: `${origin}/index.html`,
    ...user,
  });
}

/** With CONFORMANCE_JS_VERBOSE=1, prints what the app saw (and the browser's log). */
function show(name, run) {
  if (process.env.CONFORMANCE_JS_VERBOSE) {
    const { idTokenRaw, ...summary } = run.summary;
    console.log(`${name}:\n${JSON.stringify({ summary, consentChoices: run.consentChoices }, null, 2)}\n${run.log.join("\n")}`);
  }
}

/** Shows the whole summary (and the browser's log) when an assertion about it fails. */
function context(run) {
  const { idTokenRaw, ...summary } = run.summary;
  return `\nsummary: ${JSON.stringify(summary, null, 2)}\nbrowser log:\n  ${run.log.join("\n  ")}`;
}

function assertPkceAuthorize(run, origin, expect) {
  assert.equal(run.authorizeRequests.length, 1, `one authorize request${context(run)}`);
  const q = run.authorizeRequests[0].searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("client_id"), env.clientId);
  assert.equal(q.get("redirect_uri"), `${origin}/index.html`);
  assert.equal(q.get("aud"), env.fhirBase);
  assert.equal(q.get("scope"), expect.scope);
  assert.equal(q.get("launch"), expect.launch ?? null);
  assert.ok(q.get("state"), "state");
  assert.equal(q.get("code_challenge_method"), "S256", "fhirclient sends S256 when discovery advertises it");
  assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/, "an S256 challenge is 43 base64url characters");
  // The redirect back carries a code and the same state; fhirclient sends the code unencoded, so it
  // must be made of URL-safe characters only.
  assert.ok(run.redirects.length >= 1, `redirect to the app${context(run)}`);
  const back = run.redirects[0].searchParams;
  assert.equal(back.get("state"), q.get("state"));
  assert.match(back.get("code") ?? "", /^[A-Za-z0-9_-]+$/);
  // The token request proves the challenge.
  assert.ok(run.tokenRequests.length >= 1, `token request${context(run)}`);
  const body = run.tokenRequests[0].body;
  assert.equal(body.get("grant_type"), "authorization_code");
  assert.equal(body.get("client_id"), env.clientId);
  assert.equal(body.get("code"), back.get("code"));
  assert.match(body.get("code_verifier") ?? "", /^[A-Za-z0-9_-]{43,128}$/);
  // RFC 6749 5.1 / SMART: the token response is not cached.
  const headers = run.tokenResponses[0]?.headers ?? {};
  assert.equal(run.tokenResponses[0]?.status, 200);
  assert.match(headers["cache-control"] ?? "", /no-store/, "token response Cache-Control");
  assert.match(headers["pragma"] ?? "", /no-cache/, "token response Pragma");
}

/** The id_token is an RS256 JWT signed with a key of the server's JWKS; returns its claims. */
function verifyIdToken(raw) {
  assert.equal(typeof raw, "string", "id_token");
  const [h, p, sig] = raw.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  assert.equal(header.alg, "RS256");
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `id_token kid ${header.kid} is in the JWKS`);
  const ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(sig, "base64url"));
  assert.ok(ok, "id_token signature verifies");
  return JSON.parse(Buffer.from(p, "base64url"));
}

describe("discovery", () => {
  it("advertises what fhirclient needs", () => {
    assert.deepEqual(smartConfig.code_challenge_methods_supported, ["S256"]);
    assert.ok(smartConfig.authorization_endpoint.startsWith(env.baseUrl));
    assert.ok(smartConfig.token_endpoint.startsWith(env.baseUrl));
    for (const c of ["launch-ehr", "launch-standalone", "client-public", "context-ehr-patient", "context-standalone-patient", "sso-openid-connect", "permission-offline", "permission-v2"]) {
      assert.ok(smartConfig.capabilities.includes(c), c);
    }
  });
});

describe("EHR launch as the practitioner, app on another site (fhirclient in Chromium)", () => {
  let run;
  let encounterId;
  let launch;

  before(async () => {
    // The EHR has the patient and one of their encounters open.
    const token = operatorToken("system/*.rs");
    const res = await fetch(`${env.fhirBase}/Encounter?patient=${PATIENT}&_count=1&_elements=id`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    encounterId = (await res.json()).entry?.[0]?.resource?.id;
    assert.ok(encounterId, "the demo patient has an Encounter");

    launch = createLaunch("--patient", PATIENT, "--encounter", encounterId, "--user", PRACTITIONER, "--intent", INTENT);
    assert.match(launch, /^[A-Za-z0-9_-]+$/, "launch value");
    const path = `/launch.html?iss=${encodeURIComponent(env.fhirBase)}&launch=${encodeURIComponent(launch)}`;
    run = await walk(CROSS_SITE(), path, { username: "demo-practitioner", password: "demo-practitioner-password" });
    show("EHR launch", run);
  }, FLOW_TIMEOUT);

  it("authorizes with PKCE S256, the launch value and aud", () => {
    assertPkceAuthorize(run, CROSS_SITE(), { scope: EHR_SCOPE, launch });
  });

  it("the consent page speaks of this patient's data", () => {
    const values = run.consentChoices.map((c) => c.value);
    assert.ok(values.includes("patient/*.rs#results"), values.join(" "));
    assert.ok(values.includes("offline_access"), values.join(" "));
  });

  it("FHIR.oauth2.ready() gives a client with the launch context", () => {
    const s = run.summary;
    assert.equal(s.scenario, "ehr");
    assert.deepEqual(s.ready, { ok: true }, context(run));
    assert.equal(s.serverUrl, env.fhirBase);
    assert.equal(s.tokenResponse.token_type, "Bearer");
    assert.equal(s.tokenResponse.scope, EHR_SCOPE, "everything asked for was allowed");
    assert.equal(s.tokenResponse.patient, PATIENT);
    assert.equal(s.patientId, PATIENT);
    assert.equal(s.tokenResponse.encounter, encounterId);
    assert.equal(s.encounterId, encounterId);
    assert.equal(s.tokenResponse.need_patient_banner, false);
    assert.equal(s.tokenResponse.intent, INTENT);
    assert.equal(s.tokenResponse.smart_style_url, `${env.baseUrl}/smart/style.json`);
    assert.ok(s.tokenResponse.has_refresh_token, "offline_access gives a refresh token");
    assert.ok(s.tokenResponse.has_id_token, "openid gives an id_token");
  });

  it("the id_token names the practitioner (getFhirUser / getIdToken) and verifies", () => {
    const s = run.summary;
    assert.equal(s.fhirUser, PRACTITIONER, context(run));
    assert.equal(s.userType, "Practitioner");
    assert.equal(s.userId, "demo-practitioner-1");
    const claims = verifyIdToken(s.idTokenRaw);
    assert.equal(claims.iss, env.fhirBase);
    assert.equal(claims.aud, env.clientId);
    assert.equal(claims.fhirUser, `${env.fhirBase}/${PRACTITIONER}`);
  });

  it("client.patient.read() and client.encounter.read() read the launch context", () => {
    assert.deepEqual(run.summary.patientRead, { ok: true, resourceType: "Patient", id: PATIENT }, context(run));
    assert.deepEqual(run.summary.encounterRead, { ok: true, resourceType: "Encounter", id: encounterId, subject: `Patient/${PATIENT}` }, context(run));
  });

  it("lab results come back over two pages (next link), all laboratory and all the patient's", () => {
    const labs = run.summary.labs;
    assert.equal(labs.ok, true, context(run));
    assert.equal(labs.pages, 2, "pageLimit 2 follows one next link");
    assert.equal(labs.count, 10);
    assert.ok(labs.resourceTypes.every((t) => t === "Observation"));
    assert.ok(labs.categories.every((c) => c.includes("laboratory")), JSON.stringify(labs.categories));
    assert.ok(labs.subjects.every((r) => r === `Patient/${PATIENT}`), JSON.stringify(labs.subjects));
  });

  it("the active CarePlan", () => {
    const cp = run.summary.carePlans;
    assert.equal(cp.ok, true, context(run));
    assert.ok(cp.count >= 1);
    assert.ok(cp.statuses.every((s) => s === "active"));
    assert.ok(cp.subjects.every((r) => r === `Patient/${PATIENT}`));
  });

  it("another patient's record is 404", () => {
    const other = run.summary.otherPatient;
    assert.equal(other.ok, false, context(run));
    assert.equal(other.status, 404, other.message);
  });

  it("the app can fetch smart_style_url (CORS)", () => {
    assert.equal(run.summary.style.ok, true, context(run));
    assert.equal(run.summary.style.status, 200);
  });

  // fhirclient's default refresh request is grant_type + refresh_token, without client_id, which the
  // SMART App Launch refresh step allows ("For public apps, authentication is not possible (and thus
  // not required)"; its request parameters are grant_type, refresh_token and scope). The refresh token
  // is bound to its client, so the server knows the client without client_id.
  it("client.refresh() with fhirclient's defaults (no client_id) gives a new access token", () => {
    const r = run.summary.refresh;
    assert.equal(r.ok, true, `POST /auth/token grant_type=refresh_token&refresh_token=… (public client, no client_id) was refused: ${r.status} ${r.message}`);
    assert.equal(r.accessTokenChanged, true);
    assert.equal(r.refreshTokenChanged, true, "refresh tokens rotate");
  });

  it("client.refresh() with refreshTokenWithClientId gives a new access token that works", () => {
    const s = run.summary;
    const r = s.refreshWithClientId;
    assert.equal(r.ok, true, `${r.status} ${r.message}${context(run)}`);
    assert.equal(r.accessTokenChanged, true);
    assert.equal(r.refreshTokenChanged, true, "refresh tokens rotate");
    assert.equal(r.scope, EHR_SCOPE);
    assert.deepEqual(s.afterRefresh, { ok: true, id: PATIENT });
  });
});

describe("standalone launch as the patient, insurance unticked, app on the same site (fhirclient in Chromium)", () => {
  let run;

  before(async () => {
    run = await walk(SAME_SITE(), "/launch.html", {
      username: "demo-patient",
      password: "demo-patient-password",
      untick: ["patient/*.rs#insurance"],
    });
    show("standalone launch", run);
  }, FLOW_TIMEOUT);

  it("authorizes with PKCE S256 and aud, no launch value", () => {
    assertPkceAuthorize(run, SAME_SITE(), { scope: STANDALONE_SCOPE });
  });

  it("the consent page split the * request into kinds of data", () => {
    const values = run.consentChoices.map((c) => c.value);
    assert.ok(values.includes("patient/*.rs#insurance"), values.join(" "));
    assert.ok(values.includes("patient/*.rs#results"), values.join(" "));
    assert.ok(run.consentChoices.every((c) => c.checked), "everything starts ticked");
  });

  it("FHIR.oauth2.ready() gives a client for the signed-in patient", () => {
    const s = run.summary;
    assert.equal(s.scenario, "standalone");
    assert.deepEqual(s.ready, { ok: true }, context(run));
    assert.equal(s.tokenResponse.patient, PATIENT);
    assert.equal(s.fhirUser, `Patient/${PATIENT}`);
    assert.equal(verifyIdToken(s.idTokenRaw).fhirUser, `${env.fhirBase}/Patient/${PATIENT}`);
    assert.deepEqual(s.patientRead, { ok: true, resourceType: "Patient", id: PATIENT });
  });

  it("the granted scope is what was approved: no whole-record scope, no Coverage", () => {
    const granted = run.summary.tokenResponse.scope.split(" ");
    assert.deepEqual(granted.slice(0, 3), ["launch/patient", "openid", "fhirUser"], granted.join(" "));
    assert.ok(!granted.includes("patient/*.rs"), granted.join(" "));
    assert.ok(granted.includes("patient/Observation.rs"), granted.join(" "));
    assert.ok(!granted.some((s) => /^patient\/(Coverage|Claim|ExplanationOfBenefit)\./.test(s)), granted.join(" "));
  });

  it("Observations still work", () => {
    const obs = run.summary.observations;
    assert.equal(obs.ok, true, context(run));
    assert.ok(obs.count >= 1);
    assert.ok(obs.subjects.every((r) => r === `Patient/${PATIENT}`));
  });

  it("Coverage (unticked) is 403", () => {
    const cov = run.summary.coverage;
    assert.equal(cov.ok, false, `Coverage should be refused${context(run)}`);
    assert.equal(cov.status, 403, cov.message);
  });

  it("another patient's record is 404", () => {
    assert.equal(run.summary.otherPatient.status, 404, context(run));
  });
});

describe("the user says no (fhirclient in Chromium)", () => {
  let run;

  before(async () => {
    run = await walk(CROSS_SITE(), "/launch.html", {
      username: "demo-patient",
      password: "demo-patient-password",
      decision: "deny",
    });
    show("denied launch", run);
  }, FLOW_TIMEOUT);

  it("Bedside redirects back with error=access_denied and the state; ready() rejects; no token request", () => {
    assert.ok(run.redirects.length >= 1, `redirect to the app${context(run)}`);
    const back = run.redirects[0].searchParams;
    assert.equal(back.get("error"), "access_denied");
    assert.equal(back.get("state"), run.authorizeRequests[0].searchParams.get("state"));
    assert.equal(back.get("code"), null);
    assert.equal(run.summary.ready.ok, false);
    assert.match(run.summary.ready.message, /access_denied/);
    assert.equal(run.tokenRequests.length, 0);
  });
});
