import { execFile, spawn } from "node:child_process";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startFakeSidecar } from "../test-util/fake-sidecar.js";
import { spawnApp } from "../test-util/spawn-app.js";

const run = promisify(execFile);
const SAMPLES_DIR = fileURLToPath(new URL("../..", import.meta.url));

describe.concurrent("sample programs", () => {
  it("httpbin serves curl on the port it is given and exits 0 on SIGTERM", async () => {
    const app = await spawnApp("httpbin", [], { HOSTNAME: "httpbin-pod" });
    try {
      const { stdout } = await run("curl", ["-sS", "-H", "X-B3-Sampled: 1", `${app.url}/headers`]);
      expect(JSON.parse(stdout).headers).toMatchObject({ Accept: "*/*", "X-B3-Sampled": "1" });
      const host = await run("curl", ["-sS", `${app.url}/hostname`]);
      expect(JSON.parse(host.stdout)).toEqual({ hostname: "httpbin-pod" });
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });

  it("curl with http_proxy reaches httpbin by its service name, as in explicit mode", async () => {
    const app = await spawnApp("httpbin");
    const sidecar = await startFakeSidecar();
    sidecar.routes.set("httpbin", app.url);
    try {
      const { stdout } = await run("curl", ["-sS", "http://httpbin:8000/headers"], { env: { ...process.env, http_proxy: sidecar.url, NO_PROXY: "", no_proxy: "" } });
      expect(JSON.parse(stdout).headers.Host).toBe("httpbin:8000");
      expect(sidecar.seen.get("httpbin")![0]!.url).toBe("http://httpbin:8000/headers");
    } finally {
      await sidecar.stop();
      await app.stop();
    }
  });

  it("a slow /delay request does not hold shutdown", async () => {
    const app = await spawnApp("httpbin");
    const pending = run("curl", ["-sS", `${app.url}/delay/10`]).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    expect(await app.stop()).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    await pending;
  });

  it("tcp-echo answers each line with its prefix (the last one at the client's half-close) and exits 0 on SIGTERM", async () => {
    const app = await spawnApp("tcp-echo", ["0", "one"]);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect(app.port, "127.0.0.1", () => {
          s.write("world\nsecond li");
          setTimeout(() => s.end("ne\nlast"), 50);
        });
        let got = "";
        s.setEncoding("utf8");
        s.on("data", (c: string) => (got += c));
        s.on("end", () => resolve(got));
        s.on("error", reject);
      });
      expect(reply).toBe("one world\none second line\none last");
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });

  it("sleep stays up until SIGTERM, then exits 0", async () => {
    const app = await spawnApp("sleep", [], {}, (msg) => msg.startsWith("sleeping"));
    await new Promise((r) => setTimeout(r, 300));
    expect(app.proc.exitCode).toBeNull();
    expect(await app.stop()).toBe(0);
  });

  it.each([
    ["reviews", ["--version", "v9"], 'reviews version must be v1, v2 or v3, got "v9"'],
    ["details", [], 'PORT must be a port number (0-65535), got "http"'],
    ["productpage", ["--colour", "red"], "Unknown option '--colour'"],
    ["tcp-echo", ["9000"], "usage: tcp-echo.js PORT[,PORT…] PREFIX"],
    ["tcp-echo", ["90x", "one"], 'PORT must be a port number (0-65535), got "90x"'],
  ])("%s with bad input exits 2 naming it", async (name, args, message) => {
    const child = spawn(process.execPath, [`dist/bin/${name}.js`, ...args], {
      cwd: SAMPLES_DIR,
      env: { ...process.env, PORT: name === "details" ? "http" : "0", BIND_ADDRESS: "127.0.0.1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // "close", not "exit": stderr may still be in flight when the process exits.
    const code = await new Promise((resolve) => child.once("close", resolve));
    expect(code).toBe(2);
    expect(stderr).toContain(`${name}: ${message}`);
  });
});
