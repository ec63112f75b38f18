#!/usr/bin/env node
// Microbenchmark of Envoy's header cleaning as the proxy does it for a request
// that is not internal (a sidecar's usual request): the connection manager's
// removal of the x-envoy-* control headers and the router's consumption of the
// retry and timeout headers, on a curl-like header object of six fields.
// Prints ns per request over the cost of building the object alone. Not a
// timed test: a number for bench/RESULTS.md, next to the µs a request costs.
//
//   npx nx run proxy:build && taskset -c 0 node bench/proxy/header-cleaning-micro.mjs [--iterations 2000000]
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { iterations: { type: "string", default: "2000000" }, rounds: { type: "string", default: "3" } } });
const dist = join(resolve(fileURLToPath(import.meta.url), "../../.."), "packages/proxy/dist");
const { stripEnvoyInternalHeaders } = await import(pathToFileURL(join(dist, "http/sanitize-envoy-headers.js")).href);
const { consumeRouterHeaders } = await import(pathToFileURL(join(dist, "router/forward-support.js")).href);

function requestHeaders() {
  const h = Object.create(null);
  h["host"] = "httpbin:8000";
  h["user-agent"] = "curl/7.88.1";
  h["accept"] = "*/*";
  h["x-forwarded-proto"] = "http";
  h["x-request-id"] = "5d2a6c5e-1a7e-4c1d-9a57-3e0f6b7f1c2d";
  h["x-b3-sampled"] = "0";
  return h;
}

const n = Number(values.iterations);
for (let round = 1; round <= Number(values.rounds); round++) {
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (requestHeaders().host === undefined) throw new Error("unreachable");
  const alone = Number(process.hrtime.bigint() - t) / n;
  t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const h = requestHeaders();
    stripEnvoyInternalHeaders(h, false, undefined);
    consumeRouterHeaders(h, false);
  }
  const cleaned = Number(process.hrtime.bigint() - t) / n;
  console.log(`round ${round}: building ${alone.toFixed(0)} ns, building + cleaning ${cleaned.toFixed(0)} ns → cleaning ${(cleaned - alone).toFixed(0)} ns per request`);
}
