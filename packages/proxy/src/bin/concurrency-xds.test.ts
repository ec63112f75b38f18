// --concurrency 2 against an xDS server, both kinds of worker: the proxy keeps
// one ADS stream (worker 0's), as Envoy does, and every update worker 0
// applies reaches the other worker too — including the ones sent while it was
// still starting. A NACKed update reaches no worker.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster as loopbackCluster } from "../test-util/runtime-harness.js";
import { freePort, freshRequest, PROXY_BUNDLE, statValue, workerKinds } from "../test-util/multi-worker.js";
import { TestAdsServer } from "../test-util/test-ads-server.js";
import { poller } from "../test-util/until.js";

const dir = mkdtempSync(join(tmpdir(), "weft-concurrency-xds-"));
const get = freshRequest;

const until = poller({ timeoutMs: 20_000, stepMs: 100 });

function listener(port: number, cluster: string) {
  const routes = [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] }];
  return fromEnvoyJson(ListenerSchema, httpListener("http", routes, { access_log: [] }, port) as never);
}

function staticCluster(name: string, port: number) {
  return fromEnvoyJson(ClusterSchema, loopbackCluster(name, [port]) as never);
}

/** What `n` requests on fresh connections got back, by body. */
async function answers(port: number, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(port, `/r${i}`);
    const key = `${r.status} ${r.body}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

const KINDS = workerKinds();

describe.each(KINDS)("weft-proxy --concurrency 2, worker $kind, one xDS stream for both workers", ({ kind, skip }) => {
  const upstreams: Server[] = [];
  const upstreamPorts: number[] = [];
  let ads: TestAdsServer;
  let proxy: ChildProcess;
  let stderr = "";
  let port = 0;
  let admin = 0;

  beforeAll(async () => {
    if (skip) return;
    for (const name of ["v1", "v2"]) {
      const s = createServer((_req, res) => res.end(name));
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      upstreams.push(s);
      upstreamPorts.push((s.address() as AddressInfo).port);
    }
    port = await freePort();
    admin = await freePort();
    ads = new TestAdsServer();
    const adsPort = await ads.listen({ port: 0 });
    // The config is there before the proxy starts: worker 0 gets it while worker 1 is still booting.
    ads.set(TypeUrl.Cluster, "1", ClusterSchema, [staticCluster("up-v1", upstreamPorts[0]!)], (c) => c.name);
    ads.set(TypeUrl.Listener, "1", ListenerSchema, [listener(port, "up-v1")], (l) => l.name);
    const conf = join(dir, `bootstrap-${kind}.json`);
    writeFileSync(
      conf,
      JSON.stringify({
        node: { id: `sidecar~127.0.0.1~fanout-${kind}.default~default.svc.cluster.local`, cluster: "fanout" },
        admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
        dynamic_resources: {
          lds_config: { ads: {}, resource_api_version: "V3" },
          cds_config: { ads: {}, resource_api_version: "V3" },
          ads_config: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [{ envoy_grpc: { cluster_name: "xds-grpc" } }] },
        },
        static_resources: { clusters: [{ name: "xds-grpc", type: "STATIC", connect_timeout: "1s", http2_protocol_options: {}, load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: adsPort } } } }] }] } }] },
      }),
    );
    proxy = spawn(process.execPath, [PROXY_BUNDLE, "-c", conf, "--concurrency", "2", "-l", "warning", "--drain-time-s", "1"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, WEFT_PROXY_WORKERS: kind } });
    proxy.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await until(() => get(admin, "/ready").then((r) => r.status === 200, () => false), "the admin /ready", 25_000).catch((err: Error) => {
      throw new Error(`${err.message}; the proxy said: ${stderr}`);
    });
  }, 40_000);

  afterAll(async () => {
    if (proxy && proxy.exitCode === null) proxy.kill("SIGKILL");
    await ads?.stop();
    for (const s of upstreams) await new Promise((r) => s.close(r));
  });

  it.skipIf(skip)("opens one ADS stream, and both workers serve the config it brought", async () => {
    const streams = ads.requests.filter((r) => r.typeUrl === TypeUrl.Cluster && r.node !== undefined);
    expect(streams, "ADS streams opened (requests carrying the node)").toHaveLength(1);
    expect(await answers(port, 40)).toEqual(new Map([["200 v1", 40]]));
    const stats = (await get(admin, "/stats")).body;
    // 40 fresh connections hashed over two SO_REUSEPORT sockets (or dealt round-robin): both got some.
    expect(statValue(stats, `listener.127.0.0.1_${port}.worker_0.downstream_cx_total`)).toBeGreaterThan(0);
    expect(statValue(stats, `listener.127.0.0.1_${port}.worker_1.downstream_cx_total`)).toBeGreaterThan(0);
    // The proxy, not each worker, took the update once: Envoy counts one per process.
    expect(statValue(stats, "listener_manager.lds.update_success")).toBe(1);
    expect(statValue(stats, "control_plane.connected_state")).toBe(1);
  });

  it.skipIf(skip)("passes a later update to the other worker: every connection moves to the new cluster", async () => {
    ads.set(TypeUrl.Cluster, "2", ClusterSchema, [staticCluster("up-v1", upstreamPorts[0]!), staticCluster("up-v2", upstreamPorts[1]!)], (c) => c.name);
    ads.set(TypeUrl.Listener, "2", ListenerSchema, [listener(port, "up-v2")], (l) => l.name);
    await until(() => ads.requests.some((r) => r.typeUrl === TypeUrl.Listener && r.versionInfo === "2" && !r.errorDetail), "an LDS ACK of version 2");
    await until(async () => (await answers(port, 20)).get("200 v2") === 20, "both workers on v2");
    expect(await answers(port, 40)).toEqual(new Map([["200 v2", 40]]));
  });

  it.skipIf(skip)("NACKs a bad update once, and no worker takes it", async () => {
    const bad = fromEnvoyJson(ListenerSchema, { name: "http", address: { socket_address: { address: "127.0.0.1", port_value: 70000 } } } as never);
    ads.set(TypeUrl.Listener, "3", ListenerSchema, [bad], (l) => l.name);
    await until(() => ads.requests.some((r) => r.typeUrl === TypeUrl.Listener && r.errorDetail), "the NACK");
    const nacks = ads.requests.filter((r) => r.typeUrl === TypeUrl.Listener && r.errorDetail);
    expect(nacks).toHaveLength(1);
    expect(nacks[0]!.errorDetail?.message).toMatch(/port_value: value must be less than or equal to 65535/);
    expect(await answers(port, 40)).toEqual(new Map([["200 v2", 40]]));
    expect(stderr).not.toMatch(/failed to apply here/);
  });
});
