// A cluster's pools: one per host, protocol and (TLS only) offered ALPN list; the request path's cached
// lookups never hand out a pool that was closed; dropping a host closes all of its pools, the ALPN ones too.
import { fromEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { describe, expect, it, vi } from "vitest";
import { compileCluster } from "../runtime/compile-cluster.js";
import type { ClusterTransport } from "../tls/cluster-transport.js";
import type { UpstreamTls } from "../tls/upstream-tls.js";
import { createClusterPools } from "./cluster-pools.js";
import { createHost } from "./host.js";
import type { ConnectionPool } from "./upstream-stream.js";

const config = compileCluster(fromEnvoyJson(ClusterSchema, { name: "c", type: "STATIC", connect_timeout: "1s" } as never), () => {});
const events = { connected() {}, connectFailed() {}, closed() {} };
/** A transport that gives every host TLS (no handshake happens: no request is sent). */
const tls: ClusterTransport = { forHost: () => ({ servername: "a.test" }) as unknown as UpstreamTls, ready: () => true, release() {} };
const ISTIO_ALPN = ["istio-http/1.1", "istio", "http/1.1"];

const closing = (p: ConnectionPool) => vi.spyOn(p, "close");

describe("createClusterPools()", () => {
  it("keys pools by host, protocol and, for TLS hosts, the offered ALPN list", async () => {
    const pools = createClusterPools(config, events, tls);
    const a = createHost({ ip: "10.0.0.1", port: 80 });
    const plain = pools.get(a, "http1");
    expect(pools.get(a, "http1")).toBe(plain);
    expect(pools.get(a, "http2")).not.toBe(plain);
    const alpn = pools.get(a, "http1", ISTIO_ALPN);
    expect(alpn).not.toBe(plain);
    // Another array with the same protocols shares the pool (the key is the list's content).
    expect(pools.get(a, "http1", [...ISTIO_ALPN])).toBe(alpn);
    await pools.closeAll();
  });

  it("ignores the ALPN override for a plaintext host", async () => {
    const pools = createClusterPools(config, events, undefined);
    const a = createHost({ ip: "10.0.0.1", port: 80 });
    expect(pools.get(a, "http1", ISTIO_ALPN)).toBe(pools.get(a, "http1"));
    await pools.closeAll();
  });

  it("drop() closes every pool of a host, ALPN ones included, and cached lookups then get fresh pools", async () => {
    const pools = createClusterPools(config, events, tls);
    const a = createHost({ ip: "10.0.0.1", port: 80 });
    const b = createHost({ ip: "10.0.0.2", port: 80 });
    const mine = [pools.get(a, "http1"), pools.get(a, "http2"), pools.get(a, "http1", ISTIO_ALPN)];
    const other = pools.get(b, "http1");
    const spies = mine.map(closing);
    const otherSpy = closing(other);
    pools.drop(a.key);
    for (const s of spies) expect(s).toHaveBeenCalledOnce();
    expect(otherSpy).not.toHaveBeenCalled();
    expect(pools.get(a, "http1")).not.toBe(mine[0]);
    expect(pools.get(a, "http1", ISTIO_ALPN)).not.toBe(mine[2]);
    expect(pools.get(b, "http1")).toBe(other);
    await pools.closeAll();
  });

  it("retain() keeps the listed hosts' pools and closes the rest", async () => {
    const pools = createClusterPools(config, events, tls);
    const a = createHost({ ip: "10.0.0.1", port: 80 });
    const b = createHost({ ip: "10.0.0.2", port: 80 });
    const pa = pools.get(a, "http1", ISTIO_ALPN);
    const pb = pools.get(b, "http1", ISTIO_ALPN);
    const sa = closing(pa);
    const sb = closing(pb);
    pools.retain(new Set([b.key]));
    expect(sa).toHaveBeenCalledOnce();
    expect(sb).not.toHaveBeenCalled();
    expect(pools.get(b, "http1", ISTIO_ALPN)).toBe(pb);
    await pools.closeAll();
    expect(sb).toHaveBeenCalledOnce();
  });
});
