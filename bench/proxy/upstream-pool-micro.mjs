#!/usr/bin/env node
// Microbenchmark of the lean HTTP/1.1 upstream pool alone: CPU µs per
// request exchange (request head out, a 1 KiB nginx-like response in, parsed
// and handed to a handler) in this process, against a raw upstream in a child
// process on the other core. Not a timed test: a tool to compare pool builds.
//
//   node bench/proxy/upstream-pool-micro.mjs [--pool <lean-http1-pool.js>]... [--requests 200000]
//        [--inflight 16] [--rounds 3] [--chunked] [--split]
//
// Each --pool is a built lean-http1-pool.js (default: packages/proxy/dist's);
// giving two (e.g. an older build copied aside) runs them alternately, A B A B,
// so machine noise hits both. --chunked answers with a chunked body, --split
// writes the response head and body as two separate writes.
// Run it under the bench lock: flock /tmp/weft-bench.lock node bench/proxy/upstream-pool-micro.mjs
import { spawn, spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    pool: { type: "string", multiple: true },
    requests: { type: "string", default: "200000" },
    inflight: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    chunked: { type: "boolean", default: false },
    split: { type: "boolean", default: false },
    "client-cpu": { type: "string", default: "0" },
    "upstream-cpu": { type: "string", default: "1" },
  },
});
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pools = (args.pool ?? [join(ROOT, "packages/proxy/dist/upstream/lean-http1-pool.js")]).map((p) => resolve(p));
const REQUESTS = Number(args.requests);
const INFLIGHT = Number(args.inflight);
const ROUNDS = Number(args.rounds);
const log = (m) => process.stderr.write(`[micro] ${m}\n`);

// Pin this process (the pool under test) to one core when taskset exists.
if (spawnSync("sh", ["-c", "command -v taskset"]).status === 0) spawnSync("taskset", ["-p", "-c", args["client-cpu"], String(process.pid)]);

// The upstream: answers every request head ("\r\n\r\n") with a fixed response, like the bench's nginx.
const UPSTREAM = `
const net = require("node:net");
const body = "x".repeat(1023) + "\\n";
const head = "HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1\\r\\nDate: Sun, 22 Nov 2026 08:00:00 GMT\\r\\nContent-Type: text/plain\\r\\n";
const chunked = process.argv[2] === "1", split = process.argv[3] === "1";
const h = Buffer.from(head + (chunked ? "Transfer-Encoding: chunked" : "Content-Length: 1024") + "\\r\\nConnection: keep-alive\\r\\n\\r\\n", "latin1");
const b = Buffer.from(chunked ? "400\\r\\n" + body + "\\r\\n0\\r\\n\\r\\n" : body, "latin1");
const whole = Buffer.concat([h, b]);
const srv = net.createServer((s) => {
  s.setNoDelay(true);
  let tail = "";
  s.on("data", (d) => {
    const text = tail + d.toString("latin1");
    let i = 0, at;
    while ((at = text.indexOf("\\r\\n\\r\\n", i)) >= 0) {
      i = at + 4;
      if (split) { s.write(h); setImmediate(() => s.write(b)); } else s.write(whole);
    }
    tail = text.slice(i);
  });
  s.on("error", () => {});
});
srv.listen(0, "127.0.0.1", () => process.stdout.write("PORT " + srv.address().port + "\\n"));
`;

function startUpstream() {
  const cmd = spawnSync("sh", ["-c", "command -v taskset"]).status === 0 ? ["taskset", "-c", args["upstream-cpu"], process.execPath] : [process.execPath];
  const child = spawn(cmd[0], [...cmd.slice(1), "-e", UPSTREAM, args.chunked ? "1" : "0", args.split ? "1" : "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((res, rej) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)\n/.exec(out);
      if (m) res({ child, port: Number(m[1]) });
    });
    child.once("exit", (code) => rej(new Error(`upstream exited ${code}`)));
  });
}

/** Runs `n` requests with INFLIGHT in flight; resolves with CPU µs per request and req/s. */
async function run(createPool, port, n) {
  const pool = createPool({
    ip: "127.0.0.1",
    port,
    connectTimeoutMs: 1000,
    maxConnections: INFLIGHT,
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 60_000,
    events: { connected() {}, closed() {}, connectFailed() {} },
  });
  const headers = { host: "up", "user-agent": "wrk", accept: "*/*", "x-forwarded-proto": "http", "x-request-id": "5f0c8f36-5a35-4c8e-9d0e-4b8b0d8f9a11", "x-envoy-expected-rq-timeout-ms": "15000" };
  let started = 0;
  let done = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await new Promise((resolveAll, reject) => {
    const one = () => {
      started++;
      pool.request(
        { method: "GET", path: "/", authority: "up", scheme: "http", headers, body: null },
        {
          onHeaders() {},
          onData(chunk) {
            bytes += chunk.length;
            return true;
          },
          onEnd() {
            done++;
            if (done === n) resolveAll();
            else if (started < n) one();
          },
          onError: reject,
        },
      );
    };
    for (let i = 0; i < Math.min(INFLIGHT, n); i++) one();
  });
  const cpu = process.cpuUsage(c0);
  const wallNs = Number(process.hrtime.bigint() - t0);
  await pool.close();
  if (bytes !== n * 1024) throw new Error(`expected ${n * 1024} body bytes, got ${bytes}`);
  return { cpuUsPerReq: (cpu.user + cpu.system) / n, reqPerS: n / (wallNs / 1e9) };
}

const up = await startUpstream();
try {
  const impls = [];
  for (const p of pools) impls.push({ path: p, create: (await import(pathToFileURL(p).href)).createLeanHttp1Pool });
  log(`upstream on :${up.port}; ${REQUESTS} requests per round, ${INFLIGHT} in flight, ${args.chunked ? "chunked" : "content-length"}${args.split ? ", head and body in separate writes" : ""}`);
  for (const impl of impls) await run(impl.create, up.port, Math.min(20_000, REQUESTS)); // warm-up (JIT)
  const results = impls.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < impls.length; i++) {
      const x = await run(impls[i].create, up.port, REQUESTS);
      results[i].push(x);
      log(`round ${r + 1} ${impls[i].path}: ${x.cpuUsPerReq.toFixed(2)} µs CPU / request, ${Math.round(x.reqPerS)} req/s`);
    }
  }
  for (let i = 0; i < impls.length; i++) {
    const cpu = results[i].map((x) => x.cpuUsPerReq).sort((a, b) => a - b);
    console.log(`${impls[i].path}: median ${cpu[Math.floor(cpu.length / 2)].toFixed(2)} µs CPU / request (rounds: ${cpu.map((c) => c.toFixed(2)).join(", ")})`);
  }
} finally {
  up.child.kill();
}
