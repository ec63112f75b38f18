import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson } from "@weft/xds-api";
import { RBACSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import * as net from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConn, testTls } from "../test-util/authz.js";
import { createFakeStats } from "../test-util/fake-stats.js";
import { startRuntime, staticCluster, type Harness } from "../test-util/runtime-harness.js";
import { compileNetworkFilter } from "./network-filters.js";

const logger = pino({ level: "silent" });

function networkRbac(json: unknown, stats = createFakeStats()) {
  const any = anyPack(RBACSchema, fromEnvoyJson(RBACSchema, json as never));
  return compileNetworkFilter("envoy.filters.network.rbac", any, { resource: "l", field: "f", report() {}, runtime: { stats, logger, cluster: () => undefined } })!;
}
const istioAuthn = compileNetworkFilter(
  "istio_authn",
  anyPack(TypedStructSchema, fromEnvoyJson(TypedStructSchema, { type_url: "type.googleapis.com/io.istio.network.authn.Config" } as never)),
  { resource: "l", field: "f", report() {} },
)!;

describe("network filters", () => {
  it("istio_authn + network rbac: ALLOW by the TLS peer's SPIFFE id (filter_state io.istio.peer_principal)", () => {
    const stats = createFakeStats();
    const rbac = networkRbac(
      {
        stat_prefix: "tcp.",
        shadow_rules_stat_prefix: "istio_dry_run_allow_",
        rules: {
          action: "ALLOW",
          policies: {
            "ns[default]-policy[p]-rule[0]": {
              permissions: [{ any: true }],
              principals: [{ filter_state: { key: "io.istio.peer_principal", string_match: { exact: "spiffe://cluster.local/ns/default/sa/sleep" } } }],
            },
          },
        },
      },
      stats,
    );
    const run = (conn: ReturnType<typeof testConn>) => istioAuthn.onConnection(conn) ?? rbac.onConnection(conn);
    expect(run(testConn({ tls: testTls({ peerUriSan: "spiffe://cluster.local/ns/default/sa/sleep" }) }))).toBeUndefined();
    expect(run(testConn({ tls: testTls({ peerUriSan: "spiffe://cluster.local/ns/default/sa/other" }) }))).toBe("rbac_access_denied_matched_policy[none]");
    expect(run(testConn())).toBe("rbac_access_denied_matched_policy[none]");
    expect(stats.get("tcp.rbac.allowed")).toBe(1);
    expect(stats.get("tcp.rbac.denied")).toBe(2);
  });

  it("Istio's `rules: {}` (an ALLOW policy with only HTTP fields, on a TCP chain) denies every connection", () => {
    expect(networkRbac({ stat_prefix: "tcp.", rules: {} }).onConnection(testConn())).toBe("rbac_access_denied_matched_policy[none]");
  });

  it("HTTP-only matchers never match a connection", () => {
    const deny = networkRbac({ stat_prefix: "t.", rules: { action: "DENY", policies: { p: { permissions: [{ url_path: { path: { prefix: "/" } } }], principals: [{ any: true }] } } } });
    expect(deny.onConnection(testConn())).toBeUndefined();
  });

  it("other TypedStructs are not ours", () => {
    const ts = anyPack(TypedStructSchema, fromEnvoyJson(TypedStructSchema, { type_url: "type.googleapis.com/stats.PluginConfig" } as never));
    expect(compileNetworkFilter("x", ts, { resource: "l", field: "f", report() {} })).toBeUndefined();
  });
});

describe("network rbac on a tcp_proxy listener", () => {
  let echo: net.Server;
  let h: Harness;
  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    const tcpListener = (name: string, sourcePrefix: string) => ({
      name,
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.rbac",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
                stat_prefix: `${name}.`,
                rules: { action: "ALLOW", policies: { p: { permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: sourcePrefix, prefix_len: 32 } }] } } },
              },
            },
            { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: name, cluster: "echo" } },
          ],
        },
      ],
    });
    h = await startRuntime({
      clusters: [staticCluster("echo", [(echo.address() as net.AddressInfo).port])],
      listeners: [tcpListener("allowed", "127.0.0.1"), tcpListener("denied", "10.9.9.9")],
    });
  });
  afterAll(async () => {
    await h?.close();
    echo?.close();
  });

  const exchange = (port: number) =>
    new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      let got = "";
      s.on("data", (d) => {
        got += d.toString();
        if (got === "ping") s.end();
      });
      s.on("error", () => resolve(`error:${got}`));
      s.on("close", () => resolve(got));
      s.write("ping");
    });

  it("lets the allowed client through and closes the denied one before any byte reaches the upstream", async () => {
    expect(await exchange(h.port("allowed"))).toBe("ping");
    expect(await exchange(h.port("denied"))).not.toContain("ping");
    expect(h.stats.get("allowed.rbac.allowed")).toBe(1);
    expect(h.stats.get("denied.rbac.denied")).toBe(1);
  });
});
