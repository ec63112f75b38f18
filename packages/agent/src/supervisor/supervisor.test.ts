import { chmodSync, mkdtempSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createBackoff } from "../xds-proxy/backoff.js";
import { proxyArgs } from "./proxy-args.js";
import { resolveProxyBinary } from "./resolve-proxy-binary.js";
import { createSupervisor } from "./supervisor.js";

const log = pino({ level: "silent" });

describe("proxyArgs()", () => {
  it("passes pilot-agent's Envoy flags", () => {
    expect(proxyArgs({ bootstrapPath: "/etc/istio/proxy/envoy-rev.json", drainDurationMs: 45_000, logLevel: "warning", componentLogLevel: "misc:error", concurrency: 2 }).join(" ")).toBe(
      "-c /etc/istio/proxy/envoy-rev.json --drain-time-s 45 --drain-strategy immediate --local-address-ip-version v4 --file-flush-interval-msec 1000 --disable-hot-restart --allow-unknown-static-fields -l warning --component-log-level misc:error --concurrency 2",
    );
  });
});

describe("resolveProxyBinary()", () => {
  it("runs a JS entry point under this Node and a native binary directly", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-bin-"));
    writeFileSync(join(dir, "p.mjs"), "");
    writeFileSync(join(dir, "envoy"), "#!/bin/sh\n");
    chmodSync(join(dir, "envoy"), 0o755);
    expect(resolveProxyBinary(join(dir, "p.mjs"))).toEqual({ command: process.execPath, prefixArgs: [join(dir, "p.mjs")], description: join(dir, "p.mjs"), file: join(dir, "p.mjs") });
    expect(resolveProxyBinary("envoy", { PATH: dir }).command).toBe(join(dir, "envoy"));
  });
  it("says how to fix a missing binary", () => {
    expect(() => resolveProxyBinary("envoy", { PATH: "/nonexistent" })).toThrow(/--proxy-binary envoy: not found on PATH/);
    expect(() => resolveProxyBinary("./nope")).toThrow(/--proxy-binary \.\/nope: no such file/);
  });
});

describe("createBackoff()", () => {
  it("doubles from 0.5 s to 60 s with jitter", () => {
    const b = createBackoff(500, 60_000, () => 0.5);
    expect([b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000]);
    for (let i = 0; i < 20; i++) b.next();
    expect(b.next()).toBe(60_000);
    b.reset();
    expect(b.next()).toBe(500);
    const lo = createBackoff(500, 60_000, () => 0);
    expect(lo.next()).toBe(250);
  });
});

describe("createSupervisor()", () => {
  it("restarts a proxy that dies and stops it with SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-sup-"));
    const script = join(dir, "proxy.mjs");
    const starts = join(dir, "starts");
    // Dies at once the first time, then stays up until SIGTERM.
    writeFileSync(
      script,
      `import { appendFileSync, existsSync } from "node:fs";
const first = !existsSync(${JSON.stringify(starts)});
appendFileSync(${JSON.stringify(starts)}, process.argv.slice(2).join(" ") + "\\n");
if (first) process.exit(3);
process.on("SIGTERM", () => { appendFileSync(${JSON.stringify(starts)}, "term\\n"); process.exit(0); });
setInterval(() => {}, 1000);`,
    );
    const sup = createSupervisor({ proxy: resolveProxyBinary(script), args: ["-c", "x.json"], log, backoff: createBackoff(50, 100), stdio: "ignore" });
    sup.start();
    const deadline = Date.now() + 10_000;
    while (!(existsSync(starts) && readFileSync(starts, "utf8").split("\n").filter(Boolean).length >= 2)) {
      if (Date.now() > deadline) throw new Error("no restart");
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sup.restarts).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    await sup.stop(3000);
    expect(readFileSync(starts, "utf8").trim().split("\n")).toEqual(["-c x.json", "-c x.json", "term"]);
    expect(sup.pid).toBeUndefined();
  });

  it("does not restart a proxy that exits after hold() (shutdown under way)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-sup-"));
    const script = join(dir, "proxy.mjs");
    const starts = join(dir, "starts");
    writeFileSync(script, `import { appendFileSync } from "node:fs";\nappendFileSync(${JSON.stringify(starts)}, "start\\n");\nsetTimeout(() => process.exit(0), 300);`);
    const sup = createSupervisor({ proxy: resolveProxyBinary(script), args: [], log, backoff: createBackoff(50, 100), stdio: "ignore" });
    sup.start();
    sup.hold();
    const deadline = Date.now() + 10_000;
    while (sup.pid !== undefined || !existsSync(starts)) {
      if (Date.now() > deadline) throw new Error("proxy did not exit");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(readFileSync(starts, "utf8").trim().split("\n")).toEqual(["start"]);
    expect(sup.restarts).toBe(0);
    await sup.stop(1000);
  });
});
