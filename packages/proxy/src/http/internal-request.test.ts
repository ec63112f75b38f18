// Which requests are internal (x-envoy-internal: true), by Envoy's
// ConnectionManagerUtility::mutateRequestHeaders rule, seen by a real backend
// through curl: with use_remote_address only a request whose XFF ends up
// holding the one address we appended, and that address internal per
// internal_address_config; a client that sent its own XFF is external; a
// client's own x-envoy-internal never survives. EXTERNAL_ONLY follows.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const run = promisify(execFile);
const routes = [{ match: { prefix: "/" }, route: { cluster: "echo" } }];
const VHOSTS = [
  { name: "ext", domains: ["ext.example.com"], require_tls: "EXTERNAL_ONLY", routes },
  { name: "all", domains: ["*"], routes },
];

describe("internal requests (x-envoy-internal)", () => {
  let h: Harness;
  let backend: http.Server;
  let sock: string;
  let sockDefault: string;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.headers));
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    sock = join(mkdtempSync(join(tmpdir(), "weft-int-")), "hcm.sock");
    const pipeListener = httpListener("pipe", VHOSTS, { use_remote_address: true, internal_address_config: { unix_sockets: true } });
    pipeListener.address = { pipe: { path: sock } };
    sockDefault = `${sock}.default`;
    const pipeDefault = httpListener("pipe-default", VHOSTS, { use_remote_address: true });
    pipeDefault.address = { pipe: { path: sockDefault } };
    h = await startRuntime({
      clusters: [staticCluster("echo", [(backend.address() as AddressInfo).port])],
      listeners: [
        httpListener("edge", VHOSTS, { use_remote_address: true }),
        httpListener("hop", VHOSTS, { use_remote_address: true, xff_num_trusted_hops: 1 }),
        // Only 203.0.113.0/24 is internal here: the loopback peer is not.
        httpListener("cidr", VHOSTS, { use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: "203.0.113.0", prefix_len: 24 }] } }),
        httpListener("cidr-lo", VHOSTS, { use_remote_address: true, internal_address_config: { cidr_ranges: [{ address_prefix: "127.0.0.0", prefix_len: 8 }] } }),
        httpListener("sidecar", VHOSTS, { use_remote_address: false }),
        pipeListener,
        pipeDefault,
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    backend?.close();
  });

  async function seen(listener: string, headers: string[] = [], via: string[] = []): Promise<Record<string, string>> {
    const target = via.length ? "http://localhost/" : `http://127.0.0.1:${h.port(listener)}/`;
    const { stdout } = await run("curl", ["-sS", "--max-time", "5", ...via, ...headers.flatMap((x) => ["-H", x]), target]);
    return JSON.parse(stdout) as Record<string, string>;
  }

  async function status(listener: string, headers: string[]): Promise<string> {
    const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}", ...headers.flatMap((x) => ["-H", x]), `http://127.0.0.1:${h.port(listener)}/x`]);
    return stdout;
  }

  it("use_remote_address, no client XFF, internal peer (127.0.0.1): internal, XFF holds just the peer", async () => {
    const u = await seen("edge");
    expect(u["x-envoy-internal"]).toBe("true");
    expect(u["x-forwarded-for"]).toBe("127.0.0.1");
    expect(u["x-envoy-external-address"]).toBeUndefined();
  });

  it("use_remote_address, the client sent its own XFF (even a private one): external, internal headers stripped", async () => {
    for (const xff of ["10.0.0.7", "203.0.113.9"]) {
      const u = await seen("edge", [`x-forwarded-for: ${xff}`, "x-envoy-retry-on: 5xx", "x-envoy-internal: true"]);
      expect(u["x-envoy-internal"], xff).toBeUndefined();
      expect(u["x-envoy-retry-on"], xff).toBeUndefined();
      expect(u["x-forwarded-for"]).toBe(`${xff},127.0.0.1`);
      expect(u["x-envoy-external-address"]).toBe("127.0.0.1");
    }
  });

  it("EXTERNAL_ONLY: redirects the request with a client XFF, routes the one without", async () => {
    expect(await status("edge", ["Host: ext.example.com"])).toBe("200");
    expect(await status("edge", ["Host: ext.example.com", "x-forwarded-for: 10.1.2.3"])).toBe("301");
    // a spoofed x-envoy-internal does not help
    expect(await status("edge", ["Host: ext.example.com", "x-forwarded-for: 10.1.2.3", "x-envoy-internal: true"])).toBe("301");
    // behind a trusted hop the XFF is never a single address: external whatever the client's address
    expect(await status("hop", ["Host: ext.example.com", "x-forwarded-for: 10.1.2.3"])).toBe("301");
  });

  it("internal_address_config.cidr_ranges replaces the classic set", async () => {
    // x-envoy-ip-tags: cleaned from requests that are not internal, never consumed by the router.
    const out = await seen("cidr", ["x-envoy-ip-tags: t"]);
    expect(out["x-envoy-internal"]).toBeUndefined();
    expect(out["x-envoy-ip-tags"]).toBeUndefined();
    expect(out["x-envoy-external-address"]).toBe("127.0.0.1");
    const lo = await seen("cidr-lo", ["x-envoy-ip-tags: t"]);
    expect(lo["x-envoy-internal"]).toBe("true");
    expect(lo["x-envoy-ip-tags"]).toBe("t");
  });

  it("internal_address_config.unix_sockets: a Unix-socket peer is internal only when set", async () => {
    const u = await seen("pipe", [], ["--unix-socket", sock]);
    expect(u["x-envoy-internal"]).toBe("true");
    // nothing to append for a peer without an IP address
    expect(u["x-forwarded-for"]).toBeUndefined();
    expect((await seen("pipe-default", [], ["--unix-socket", sockDefault]))["x-envoy-internal"]).toBeUndefined();
  });

  it("without use_remote_address: internal only when XFF holds one internal address; a client's x-envoy-internal is dropped", async () => {
    expect((await seen("sidecar", ["x-envoy-internal: true"]))["x-envoy-internal"]).toBeUndefined();
    expect((await seen("sidecar", ["x-forwarded-for: 10.0.0.1"]))["x-envoy-internal"]).toBe("true");
    expect((await seen("sidecar", ["x-forwarded-for: 203.0.113.1"]))["x-envoy-internal"]).toBeUndefined();
    expect((await seen("sidecar", ["x-forwarded-for: 10.0.0.2, 10.0.0.1"]))["x-envoy-internal"]).toBeUndefined();
  });

  it("without use_remote_address, a request that is not internal loses the control headers but keeps the downstream ones (not an edge)", async () => {
    const control = ["x-envoy-ip-tags: t", "x-envoy-force-trace: 1", "x-envoy-upstream-alt-stat-name: s", "x-envoy-original-url: http://a/b"];
    const identity = ["x-envoy-decorator-operation: op", "x-envoy-downstream-service-cluster: c", "x-envoy-external-address: 198.51.100.1"];
    const ext = await seen("sidecar", [...control, ...identity]);
    for (const k of ["x-envoy-ip-tags", "x-envoy-force-trace", "x-envoy-upstream-alt-stat-name", "x-envoy-original-url"]) expect(ext[k], k).toBeUndefined();
    expect(ext["x-envoy-decorator-operation"]).toBe("op");
    expect(ext["x-envoy-downstream-service-cluster"]).toBe("c");
    expect(ext["x-envoy-external-address"]).toBe("198.51.100.1");
    // The same request from behind one internal hop is internal and keeps them all.
    const int = await seen("sidecar", ["x-forwarded-for: 10.0.0.1", ...control]);
    expect(int["x-envoy-ip-tags"]).toBe("t");
    expect(int["x-envoy-upstream-alt-stat-name"]).toBe("s");
  });

  it("at the edge a client's decorator, downstream identity and original path are dropped too", async () => {
    const u = await seen("edge", ["x-forwarded-for: 203.0.113.9", "x-envoy-decorator-operation: op", "x-envoy-downstream-service-node: n", "x-envoy-original-path: /admin"]);
    for (const k of ["x-envoy-decorator-operation", "x-envoy-downstream-service-node", "x-envoy-original-path"]) expect(u[k], k).toBeUndefined();
  });
});
