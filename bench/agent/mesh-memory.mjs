#!/usr/bin/env node
// What a pod's sidecar costs in the local mesh: starts `weftctl local up` (README
// command 1's mesh, from the built dist), sends requests through the ingress to
// bookinfo's productpage, waits for the sidecars to settle, and reports every
// weft-agent's and weft-proxy's memory — RSS and anonymous memory from
// /proc/<pid>/smaps_rollup (anonymous is what a process does not share: the node
// binary's pages are shared by the agent and the proxy of a pod), and the peak
// (VmHWM). Then stops the mesh with SIGINT, as a user would.
//
//   npx nx run-many -t build && node bench/agent/mesh-memory.mjs [--requests 50] [--settle-ms 3000]
//
// Progress goes to stderr; the table to stdout. Needs what the local mesh needs
// (Linux, root, iproute2, iptables): see the README.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const { values: args } = parseArgs({ options: { requests: { type: "string", default: "50" }, "settle-ms": { type: "string", default: "3000" } } });
const REQUESTS = Number(args.requests);
const SETTLE_MS = Number(args["settle-ms"]);
const INGRESS = "http://127.0.0.1:8080/productpage";
const progress = (msg) => process.stderr.write(`[mesh-memory] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const mesh = spawn(process.execPath, [join(ROOT, "packages/cli/dist/bin/weftctl.js"), "local", "up"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
let output = "";
mesh.stdout.on("data", (c) => (output += c));
mesh.stderr.on("data", (c) => (output += c));
const exited = new Promise((r) => mesh.once("exit", r));

async function waitReady() {
  const started = Date.now();
  while (!/Ready in [\d.]+ s/.test(output)) {
    if (mesh.exitCode !== null) throw new Error(`weftctl local up exited (${mesh.exitCode}) before the mesh was ready:\n${output.slice(-2000)}`);
    if (Date.now() - started > 180_000) throw new Error(`the mesh was not ready after 180 s:\n${output.slice(-2000)}`);
    if ((Date.now() - started) % 5000 < 250) progress(`waiting for the mesh (${Math.round((Date.now() - started) / 1000)} s)`);
    await sleep(250);
  }
  progress(output.match(/Ready in [\d.]+ s/)[0]);
}

/** Every process whose command line names `marker`, with its memory in MB. */
function processes(marker) {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (!cmd.includes(marker)) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
      out.push({ pid: Number(pid), rss: kb(rollup, "Rss") / 1024, anon: kb(rollup, "Anonymous") / 1024, peak: kb(status, "VmHWM") / 1024 });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

const range = (xs) => {
  const lo = Math.min(...xs).toFixed(1);
  const hi = Math.max(...xs).toFixed(1);
  return lo === hi ? lo : `${lo}–${hi}`;
};

try {
  await waitReady();
  const codes = new Map();
  for (let i = 0; i < REQUESTS; i++) {
    const status = await fetch(INGRESS).then((r) => r.arrayBuffer().then(() => r.status), (err) => `error: ${err.cause?.code ?? err.message}`);
    codes.set(status, (codes.get(status) ?? 0) + 1);
  }
  progress(`${REQUESTS} requests to ${INGRESS}: ${[...codes].map(([c, n]) => `${n}× ${c}`).join(", ")}; settling ${SETTLE_MS} ms`);
  await sleep(SETTLE_MS);
  const rows = [
    ["weft-agent", processes("weft-agent.mjs proxy")],
    ["weft-proxy", processes("weft-proxy.mjs")],
  ];
  console.log(`Run ${new Date().toISOString()}: \`node bench/agent/mesh-memory.mjs --requests ${REQUESTS}\`, ${[...codes].map(([c, n]) => `${n}× ${c}`).join(", ")}.\n`);
  console.log("| process | count | RSS MB | anonymous MB | peak (VmHWM) MB |\n|---|---:|---:|---:|---:|");
  for (const [name, ps] of rows) {
    if (ps.length === 0) console.log(`| ${name} | 0 | – | – | – |`);
    else console.log(`| ${name} | ${ps.length} | ${range(ps.map((p) => p.rss))} | ${range(ps.map((p) => p.anon))} | ${range(ps.map((p) => p.peak))} |`);
  }
  if (rows.some(([, ps]) => ps.length === 0)) process.exitCode = 1;
} catch (err) {
  progress(`failed: ${err.message} — is the workspace built (npx nx run-many -t build) and are you root with iproute2 and iptables?`);
  process.exitCode = 1;
} finally {
  mesh.kill("SIGINT");
  const stopped = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
  if (!stopped) {
    progress("the mesh did not stop within 30 s of SIGINT; killing it");
    mesh.kill("SIGKILL");
  }
}
