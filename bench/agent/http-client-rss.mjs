#!/usr/bin/env node
// What an HTTP client costs a long-lived, mostly idle process such as
// weft-agent: the RSS of a fresh Node process (with the sidecar's Node flags)
// after 20 GETs to a local server made with node:http, with fetch(), or none,
// each in its own process so one cannot pay for the other. The agent polls
// the proxy's admin API this way; its client is node:http because of this
// measurement (packages/agent/src/http/request-text.ts).
//
//   node bench/agent/http-client-rss.mjs
import { spawnSync } from "node:child_process";

const FLAGS = ["--max-semi-space-size=1", "--v8-pool-size=1", "--single-threaded-gc", "--expose-gc"];
const child = (mode) => `
import http from "node:http"; import { readFileSync } from "node:fs";
const server = http.createServer((req, res) => res.end("LIVE\\n")).listen(0, "127.0.0.1");
await new Promise((r) => server.once("listening", r));
const url = "http://127.0.0.1:" + server.address().port + "/ready";
for (let i = 0; i < 20; i++) {
  if (${JSON.stringify(mode)} === "fetch") await (await fetch(url, { signal: AbortSignal.timeout(1000) })).text();
  if (${JSON.stringify(mode)} === "node:http") await new Promise((ok, fail) => http.get(url, (r) => { r.resume(); r.on("end", ok); }).on("error", fail));
}
globalThis.gc(); await new Promise((r) => setTimeout(r, 300)); globalThis.gc();
const status = readFileSync("/proc/self/status", "utf8");
const kb = (k) => Number(new RegExp(k + ":\\\\s+(\\\\d+)").exec(status)[1]);
console.log(JSON.stringify({ rssMb: kb("VmRSS") / 1024, anonMb: kb("RssAnon") / 1024, heapMb: process.memoryUsage().heapUsed / 1048576 }));
server.close();`;

console.log("| client | RSS MB | anonymous MB | V8 heap used MB |\n|---|---:|---:|---:|");
for (const mode of ["none", "node:http", "fetch"]) {
  const r = spawnSync(process.execPath, [...FLAGS, "--input-type=module", "-e", child(mode)], { encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`${mode}: ${r.stderr}\n`);
    process.exit(1);
  }
  const m = JSON.parse(r.stdout);
  console.log(`| ${mode} | ${m.rssMb.toFixed(1)} | ${m.anonMb.toFixed(1)} | ${m.heapMb.toFixed(1)} |`);
}
