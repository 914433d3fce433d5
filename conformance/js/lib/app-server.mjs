// The SMART app under test, served the way a real browser app is: static files over HTTP, nothing else.
// It listens on 127.0.0.1 and is opened as http://127.0.0.1:PORT or http://localhost:PORT.
// node:http only (no extra dependencies). Serves app/launch.html, app/index.html, the fhirclient browser
// bundle from node_modules, and config.js (the app's client_id and its FHIR server, as an app would have
// them built in).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");

const FILES = {
  "/launch.html": [path.join(root, "app/launch.html"), "text/html; charset=utf-8"],
  "/index.html": [path.join(root, "app/index.html"), "text/html; charset=utf-8"],
  "/fhir-client.js": [path.join(root, "node_modules/fhirclient/build/fhir-client.js"), "text/javascript; charset=utf-8"],
};

/**
 * Starts the app server on 127.0.0.1:port (0 = any free port).
 * @param {{port: number, config: object}} options
 * @returns {Promise<{server: import('node:http').Server, port: number, requests: string[]}>}
 */
export async function startAppServer({ port, config }) {
  const requests = [];
  const configJs = `window.APP_CONFIG = ${JSON.stringify(config)};\n`;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push(`${req.method} ${url.pathname}`);
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "method not allowed\n");
    if (url.pathname === "/favicon.ico") return send(204, "image/x-icon", "");
    if (url.pathname === "/config.js") return send(200, "text/javascript; charset=utf-8", configJs);
    const file = FILES[url.pathname];
    if (!file) return send(404, "text/plain", "not found\n");
    try {
      send(200, file[1], await readFile(file[0]));
    } catch (e) {
      send(500, "text/plain", `${e.message}\n`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { server, port: server.address().port, requests };
}
