// VirtualHost.require_tls with curl: Envoy answers a request that did not come
// over TLS with a 301 to `https://<host><path>` before any route is matched
// (ALL), or only when it is external (EXTERNAL_ONLY: not `x-envoy-internal`);
// the scheme is the connection's, so a client's x-forwarded-proto cannot dodge it.
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_LOG, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { createTestPki } from "../test-util/test-pki.js";

const run = promisify(execFile);
const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const toBackend = [{ match: { prefix: "/" }, route: { cluster: "backend" } }];
const VHOSTS = [
  { name: "all", domains: ["all.example.com", "all.example.com:*"], require_tls: "ALL", routes: toBackend },
  { name: "ext", domains: ["ext.example.com", "ext.example.com:*"], require_tls: "EXTERNAL_ONLY", routes: toBackend },
  { name: "none", domains: ["none.example.com"], routes: toBackend },
  // istiod's redirect-only virtual host for an httpsRedirect host no VirtualService covers
  { name: "bare", domains: ["bare.example.com"], require_tls: "ALL" },
];

function hcm(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: { "@type": HCM, stat_prefix: name, route_config: { name: "gw", virtual_hosts: VHOSTS }, http_filters: [ROUTER], access_log: ACCESS_LOG, use_remote_address: true, ...extra },
  };
}

describe("VirtualHost.require_tls", () => {
  let h: Harness;
  let backend: http.Server;
  let caFile: string;
  let plain: number;
  let trusted: number;
  let secure: number;

  beforeAll(async () => {
    const pki = createTestPki();
    const ca = pki.ca("edge-ca");
    const leaf = pki.leaf(ca, { dns: ["all.example.com", "ext.example.com"] });
    caFile = join(mkdtempSync(join(tmpdir(), "require-tls-")), "ca.pem");
    writeFileSync(caFile, ca.certPem);
    backend = http.createServer((req, res) => res.end(`served ${req.headers["x-forwarded-proto"]}`));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const listener = (name: string, chain: Record<string, unknown>): Record<string, unknown> => ({ name, address: { socket_address: { address: "127.0.0.1", port_value: 0 } }, filter_chains: [chain] });
    h = await startRuntime({
      clusters: [staticCluster("backend", [(backend.address() as AddressInfo).port])],
      listeners: [
        listener("plain", { filters: [hcm("plain")] }),
        // one trusted hop in front: the client is the XFF address, external when it is public
        listener("trusted", { filters: [hcm("trusted", { xff_num_trusted_hops: 1 })] }),
        listener("secure", {
          transport_socket: {
            name: "envoy.transport_sockets.tls",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
              common_tls_context: { alpn_protocols: ["h2", "http/1.1"], tls_certificates: [{ certificate_chain: { inline_bytes: b64(leaf.certPem) }, private_key: { inline_bytes: b64(leaf.keyPem) } }] },
            },
          },
          filters: [hcm("secure")],
        }),
      ],
    });
    plain = h.port("plain");
    trusted = h.port("trusted");
    secure = h.port("secure");
  });

  afterAll(async () => {
    await h?.close();
    backend?.close();
  });

  /** `<status> <location>` of one curl request (no redirects followed). */
  async function curl(args: string[]): Promise<string> {
    const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %header{location}", "--max-time", "10", ...args]);
    return stdout.trim();
  }

  it("ALL: plaintext gets 301 to https://<host><path> — host with its port and the query kept, as Envoy's createSslRedirectPath", async () => {
    expect(await curl(["-H", "Host: all.example.com", `http://127.0.0.1:${plain}/a/b?x=1&y=2`])).toBe("301 https://all.example.com/a/b?x=1&y=2");
    expect(await curl(["-H", "Host: all.example.com:8080", `http://127.0.0.1:${plain}/p`])).toBe("301 https://all.example.com:8080/p");
    // also for a request Envoy calls internal (loopback, no XFF), and for a POST
    expect(await curl(["-X", "POST", "-d", "x", "-H", "Host: all.example.com", `http://127.0.0.1:${plain}/form`])).toBe("301 https://all.example.com/form");
    const logged = await h.logs.waitFor((i) => i.responseCode === 301);
    expect(logged.responseCodeDetails).toBe("direct_response");
  });

  it("ALL: a client's x-forwarded-proto: https over plaintext does not dodge the redirect (the connection decides)", async () => {
    expect(await curl(["-H", "Host: all.example.com", "-H", "x-forwarded-proto: https", `http://127.0.0.1:${plain}/`])).toBe("301 https://all.example.com/");
    expect(await curl(["--http2-prior-knowledge", "-H", "Host: all.example.com", `http://127.0.0.1:${plain}/h2`])).toBe("301 https://all.example.com/h2");
  });

  it("ALL: over TLS the request is routed, no redirect", async () => {
    const res = await run("curl", ["-s", "--max-time", "10", "--cacert", caFile, "--resolve", `all.example.com:${secure}:127.0.0.1`, `https://all.example.com:${secure}/x`]);
    expect(res.stdout).toBe("served https");
    expect(await curl(["--cacert", caFile, "--resolve", `all.example.com:${secure}:127.0.0.1`, `https://all.example.com:${secure}/x`])).toBe("200");
  });

  it("a redirect-only virtual host (no routes) still redirects plaintext", async () => {
    expect(await curl(["-H", "Host: bare.example.com", `http://127.0.0.1:${plain}/`])).toBe("301 https://bare.example.com/");
  });

  it("EXTERNAL_ONLY: internal requests (x-envoy-internal) are routed, external ones redirected", async () => {
    // loopback peer, no XFF: internal
    expect(await curl(["-H", "Host: ext.example.com", `http://127.0.0.1:${plain}/`])).toBe("200");
    // one trusted hop says the client is 203.0.113.7: external
    expect(await curl(["-H", "Host: ext.example.com", "-H", "x-forwarded-for: 203.0.113.7", `http://127.0.0.1:${trusted}/e`])).toBe("301 https://ext.example.com/e");
    // and behind that hop a private client is external too: Envoy's XFF then holds two addresses, never one
    expect(await curl(["-H", "Host: ext.example.com", "-H", "x-forwarded-for: 10.1.2.3", `http://127.0.0.1:${trusted}/e`])).toBe("301 https://ext.example.com/e");
    // a client's own XFF makes it external on the edge listener too, and x-envoy-internal cannot be spoofed
    expect(await curl(["-H", "Host: ext.example.com", "-H", "x-forwarded-for: 10.1.2.3", "-H", "x-envoy-internal: true", `http://127.0.0.1:${plain}/s`])).toBe("301 https://ext.example.com/s");
    // over TLS never
    expect(await curl(["--cacert", caFile, "--resolve", `ext.example.com:${secure}:127.0.0.1`, `https://ext.example.com:${secure}/`])).toBe("200");
  });

  it("NONE (unset): plaintext is routed; require_tls is no longer reported as unsupported", async () => {
    expect(await curl(["-H", "Host: none.example.com", `http://127.0.0.1:${plain}/`])).toBe("200");
    expect(h.reports.filter((r) => r.field.includes("require_tls"))).toEqual([]);
  });
});
