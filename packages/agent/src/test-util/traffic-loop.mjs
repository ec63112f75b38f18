#!/usr/bin/env node
// Continuous HTTP traffic for the rotation test, run as an app inside a pod's network
// namespace (so capture sends it through the sidecar). One loop per target URL and
// connection style: `keepalive` reuses one connection for the whole run, `fresh` opens a
// new connection per request. Every request must answer 200 with httpbin's /headers JSON;
// anything else is a failure, recorded with its time and reason. Progress goes to stdout
// as JSON lines every PROGRESS_MS; the summary is written to OUT at the end.
//
// Env: TARGETS (comma-separated URLs), DURATION_MS, INTERVAL_MS (pause between a loop's
// requests), PROGRESS_MS, OUT.
import { writeFileSync } from "node:fs";
import http from "node:http";

const targets = (process.env.TARGETS ?? "").split(",").filter(Boolean);
const durationMs = Number(process.env.DURATION_MS ?? 300_000);
const intervalMs = Number(process.env.INTERVAL_MS ?? 100);
const progressMs = Number(process.env.PROGRESS_MS ?? 15_000);
const out = process.env.OUT;
if (targets.length === 0 || !out) {
  process.stderr.write("traffic-loop: TARGETS and OUT are required\n");
  process.exit(2);
}

const started = Date.now();
const end = started + durationMs;
const stats = { requests: 0, ok: 0, failures: [], failed: 0, byLoop: {}, xfccHashes: new Set(), xfccBy: new Set(), xfccUri: new Set(), noXfcc: 0 };

function get(url, agent) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: 10_000, headers: { connection: agent ? "keep-alive" : "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body, newConnection: !req.reusedSocket }));
      res.on("error", (e) => resolve({ error: `response: ${e.message}` }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout after 10 s")));
    req.on("error", (e) => resolve({ error: e.message }));
  });
}

// XFCC as Envoy writes it: key=value pairs separated by ';', elements by ','.
function recordXfcc(value) {
  if (!value) {
    stats.noXfcc++;
    return;
  }
  const last = value.split(",").at(-1);
  for (const part of last.split(";")) {
    const [k, ...rest] = part.split("=");
    const v = rest.join("=");
    if (k === "Hash") stats.xfccHashes.add(v);
    else if (k === "By") stats.xfccBy.add(v);
    else if (k === "URI") stats.xfccUri.add(v);
  }
}

async function loop(name, url, agent) {
  // connections: how many the app had to open; a keep-alive loop whose sidecar never drops
  // its connection stays at 1 for the whole run.
  const mine = (stats.byLoop[name] = { requests: 0, ok: 0, connections: 0 });
  while (Date.now() < end) {
    const t = Date.now();
    const r = await get(url, agent);
    stats.requests++;
    mine.requests++;
    if (r.newConnection) mine.connections++;
    let headers;
    if (r.status === 200) {
      try {
        headers = JSON.parse(r.body).headers;
      } catch {
        /* counted below */
      }
    }
    if (headers) {
      stats.ok++;
      mine.ok++;
      const key = Object.keys(headers).find((h) => h.toLowerCase() === "x-forwarded-client-cert");
      recordXfcc(key ? headers[key] : undefined);
    } else {
      stats.failed++;
      if (stats.failures.length < 20) stats.failures.push({ atMs: t - started, loop: name, status: r.status, error: r.error, body: r.body?.slice(0, 300) });
    }
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}

const summary = () => ({
  elapsedMs: Date.now() - started,
  requests: stats.requests,
  ok: stats.ok,
  failed: stats.failed,
  failures: stats.failures,
  byLoop: stats.byLoop,
  clientCertHashes: stats.xfccHashes.size,
  xfccBy: [...stats.xfccBy],
  xfccUri: [...stats.xfccUri],
  withoutXfcc: stats.noXfcc,
});

const progress = setInterval(() => {
  const s = summary();
  process.stdout.write(`${JSON.stringify({ progress: true, elapsedS: Math.round(s.elapsedMs / 1000), requests: s.requests, failed: s.failed, clientCertHashes: s.clientCertHashes })}\n`);
}, progressMs);

const loops = [];
for (const url of targets) {
  loops.push(loop(`${url} keepalive`, url, new http.Agent({ keepAlive: true, maxSockets: 1 })));
  loops.push(loop(`${url} fresh`, url, false));
}
await Promise.all(loops);
clearInterval(progress);
writeFileSync(out, JSON.stringify(summary(), null, 2));
process.stdout.write(`${JSON.stringify({ done: true, ...summary() })}\n`);
