// Settings handed over by run.sh (see there), and small helpers around the bedside CLI.
import { execFileSync } from "node:child_process";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite with bash conformance/js/run.sh PATH_TO_BEDSIDE_BINARY`);
  }
  return value;
}

export const env = {
  bin: required("CONFORMANCE_BEDSIDE_BIN"),
  dataDir: required("CONFORMANCE_DATA_DIR"),
  serverLog: required("CONFORMANCE_SERVER_LOG"), // what `bedside serve --demo` printed (and logged)
  baseUrl: required("CONFORMANCE_BASE_URL"), // http://127.0.0.1:PORT
  fhirBase: required("CONFORMANCE_FHIR_BASE"), // http://127.0.0.1:PORT/fhir
  appPort: Number(required("CONFORMANCE_APP_PORT")),
  clientId: required("CONFORMANCE_CLIENT_ID"),
  chromium: process.env.CONFORMANCE_CHROMIUM || "/usr/bin/chromium",
};

/** Runs `bedside ARGS… --data-dir DIR` and returns its standard output. */
export function bedside(...args) {
  return execFileSync(env.bin, [...args, "--data-dir", env.dataDir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
}

/** `bedside launch …`: the launch value is alone on the last line. */
export function createLaunch(...args) {
  const lines = bedside("launch", ...args).split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1];
}

/** An operator token (for test set-up only, never used by the app). */
export function operatorToken(scope) {
  return bedside("token", "--base-url", env.baseUrl, "--scope", scope).trim();
}
