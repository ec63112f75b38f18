// max_stream_duration and grpc-timeout, Envoy's way (stream-duration.ts). The
// routes carry what Istio puts on every route (max_stream_duration 0s,
// grpc_timeout_header_max 0s): a client's grpc-timeout becomes the sidecar's
// deadline. curl sends the headers and does not enforce the deadline itself,
// so what ends the exchange early is the proxy.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { grpcTimeoutMs, streamDurationMs } from "./stream-duration.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const ISTIO = { max_stream_duration: "0s", grpc_timeout_header_max: "0s" };
/** One empty gRPC message (flag byte, 4-byte length 0), for curl to send. */
const emptyGrpcMessage = join(mkdtempSync(join(tmpdir(), "weft-grpc-")), "empty.bin");
writeFileSync(emptyGrpcMessage, Buffer.alloc(5));

describe("grpcTimeoutMs() and streamDurationMs()", () => {
  it("reads gRPC's TimeoutValue and refuses anything else", () => {
    expect(grpcTimeoutMs("200m")).toBe(200);
    expect(grpcTimeoutMs("2S")).toBe(2000);
    expect(grpcTimeoutMs("1H")).toBe(3_600_000);
    expect(grpcTimeoutMs("1500u")).toBe(1);
    expect(grpcTimeoutMs(["3M"])).toBe(180_000);
    for (const bad of ["", "10", "m", "123456789m", "1.5S", "-1S", "10s"]) expect(grpcTimeoutMs(bad), bad).toBeUndefined();
  });

  it("follows Envoy's precedence: grpc-timeout (capped, less the offset) when the route allows it, else the route's, else the HCM's", () => {
    expect(streamDurationMs({ maxMs: 0, grpcHeaderMaxMs: 0 }, 0, "200m")).toBe(200);
    expect(streamDurationMs({ maxMs: 0, grpcHeaderMaxMs: 0 }, 0, undefined)).toBeUndefined();
    expect(streamDurationMs({ maxMs: 0, grpcHeaderMaxMs: 100 }, 0, "200m")).toBe(100);
    expect(streamDurationMs({ grpcHeaderMaxMs: 0, grpcHeaderOffsetMs: 50 }, 0, "200m")).toBe(150);
    expect(streamDurationMs({ grpcHeaderMaxMs: 0, grpcHeaderOffsetMs: 500 }, 0, "200m")).toBe(0);
    // Without grpc_timeout_header_max the header means nothing.
    expect(streamDurationMs({ maxMs: 700 }, 0, "200m")).toBe(700);
    // An explicit 0 on the route turns the connection manager's limit off; an unset one falls back to it.
    expect(streamDurationMs({ maxMs: 0 }, 900, undefined)).toBeUndefined();
    expect(streamDurationMs({ grpcHeaderMaxMs: 0 }, 900, undefined)).toBe(900);
    expect(streamDurationMs(undefined, 900, undefined)).toBe(900);
    expect(streamDurationMs(undefined, 0, "200m")).toBeUndefined();
  });
});

describe.skipIf(!hasCurl)("stream duration limits through the proxy (curl)", () => {
  let h: Harness;
  let slow: http.Server;

  beforeAll(async () => {
    // Answers after 1.5 s: anything quicker came from the proxy.
    slow = http.createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end("slow answer"), 1500);
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    const route = (prefix: string, msd: Record<string, unknown>) => ({ match: { prefix }, route: { cluster: "slow", timeout: "0s", max_stream_duration: msd } });
    h = await startRuntime({
      clusters: [staticCluster("slow", [(slow.address() as AddressInfo).port])],
      listeners: [httpListener("in", [{ name: "all", domains: ["*"], routes: [route("/capped", { max_stream_duration: "0.3s" }), route("/", ISTIO)] }])],
    });
  });
  afterAll(async () => {
    await h?.close();
    slow?.close();
  });

  async function curl(args: string[]): Promise<{ head: string; body: string; ms: number }> {
    const t0 = Date.now();
    const { stdout } = await run("curl", ["-sS", "-D", "-", "--max-time", "10", ...args]);
    const cut = stdout.indexOf("\r\n\r\n");
    return { head: stdout.slice(0, cut).toLowerCase(), body: stdout.slice(cut + 4), ms: Date.now() - t0 };
  }

  it("ends a gRPC call at its grpc-timeout with DEADLINE_EXCEEDED", async () => {
    const port = h.port("in");
    const r = await curl(["--http2-prior-knowledge", "-H", "content-type: application/grpc", "-H", "grpc-timeout: 200m", "-H", "te: trailers", "--data-binary", `@${emptyGrpcMessage}`, `http://127.0.0.1:${port}/pkg.Svc/Call`]);
    expect(r.ms).toBeLessThan(1200);
    expect(r.head).toMatch(/^http\/2 200/);
    expect(r.head).toMatch(/\ngrpc-status: 4\r?(\n|$)/);
    expect(r.head).toContain("grpc-message: downstream%20duration%20timeout");
    expect(h.stats.get("http.in.downstream_rq_max_duration_reached")).toBe(1);
    expect(h.logs.entries.some((l) => l.responseCodeDetails === "max_duration_timeout")).toBe(true);
  });

  it("leaves a request without grpc-timeout alone on Istio's routes", async () => {
    const r = await curl([`http://127.0.0.1:${h.port("in")}/plain`]);
    expect(r.head).toMatch(/^http\/1.1 200/);
    expect(r.body).toBe("slow answer");
    expect(r.ms).toBeGreaterThanOrEqual(1400);
  });

  it("ends a plain request at the route's max_stream_duration: 504 once the request is complete", async () => {
    const r = await curl([`http://127.0.0.1:${h.port("in")}/capped`]);
    expect(r.ms).toBeLessThan(1200);
    expect(r.head).toMatch(/^http\/1.1 504/);
    expect(r.body).toBe("downstream duration timeout");
  });
});
