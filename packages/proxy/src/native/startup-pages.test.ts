// The addon's releaseStartupPages() in a fresh Node process: its RSS drops,
// and everything that runs on the released pages afterwards still works —
// V8's compilers and builtins, ICU, OpenSSL, zlib, a worker thread. A page
// dropped that held private data (a relocated RELRO segment) would crash here
// or give wrong answers.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { socketAddonUnavailableReason } from "./socket-addon.js";

const ADDON = fileURLToPath(new URL("../../native/build/Release/weft_socket.node", import.meta.url));
const noAddon = socketAddonUnavailableReason();

const CHILD = `
const addon = require(${JSON.stringify(ADDON)});
const fs = require("node:fs");
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
const before = rss();
const result = addon.releaseStartupPages();
const after = rss();
const { Worker } = require("node:worker_threads");
const crypto = require("node:crypto");
const zlib = require("node:zlib");
let hot = 0;
for (let i = 0; i < 2e6; i++) hot += (i * 7) % 13; // optimized by TurboFan after the release
const answers = {
  hot,
  intl: new Intl.NumberFormat("de-DE").format(1234567.891),
  date: new Date(Date.UTC(2026, 10, 23)).toLocaleDateString("fr-FR", { timeZone: "UTC", month: "long", day: "numeric" }),
  sha: crypto.createHash("sha256").update("weft").digest("hex").slice(0, 16),
  zlib: zlib.gunzipSync(zlib.gzipSync("x".repeat(10000))).length,
  regex: /(\\p{L}+)-(\\d+)/u.exec("Zoë-42").slice(1).join("|"),
  json: JSON.parse(JSON.stringify({ a: [1, { b: "c" }] })).a[1].b,
  again: addon.releaseStartupPages().mappings > 0,
};
new Worker("require('node:worker_threads').parentPort.postMessage(6 * 7)", { eval: true }).once("message", (w) => {
  process.stdout.write(JSON.stringify({ before, after, result, answers: { ...answers, worker: w } }));
});
`;

describe.skipIf(noAddon !== undefined)(`releaseStartupPages()${noAddon ? ` (skipped: ${noAddon})` : ""}`, () => {
  it("drops resident pages of the node executable, and the process keeps working on them", () => {
    const r = spawnSync(process.execPath, ["-e", CHILD], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { before, after, result, answers } = JSON.parse(r.stdout) as {
      before: number;
      after: number;
      result: { mappings: number; residentBytes: number };
      answers: Record<string, unknown>;
    };
    expect(result.mappings).toBeGreaterThan(0);
    expect(result.residentBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(before - after).toBeGreaterThan(10 * 1024 * 1024);
    expect(answers).toEqual({
      hot: (() => {
        let h = 0;
        for (let i = 0; i < 2e6; i++) h += (i * 7) % 13;
        return h;
      })(),
      intl: "1.234.567,891",
      date: "23 novembre",
      sha: "e627e2237f44543d",
      zlib: 10000,
      regex: "Zoë|42",
      json: "c",
      again: true,
      worker: 42,
    });
  }, 60_000);
});
