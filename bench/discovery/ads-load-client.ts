// Many cheap simulated sidecars in one process: each is one ADS stream (SotW,
// its own HTTP/2 connection like Envoy's), subscribing CDS/LDS wildcard, then
// EDS for the EDS clusters and RDS for the route names it was sent, ACKing
// every response. Resources are decoded once per version and shared, so a
// thousand clients cost little more than their sockets.
import { create, fromBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import { ClusterSchema, Cluster_DiscoveryType } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { NodeSchema } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { AggregatedDiscoveryService } from "@weft/xds-api/gen/envoy/service/discovery/v3/ads_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  DiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb.js";
import { HttpConnectionManagerSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";

const CDS = TypeUrl.Cluster;
const EDS = TypeUrl.ClusterLoadAssignment;
const LDS = TypeUrl.Listener;
const RDS = TypeUrl.RouteConfiguration;

// ACKs repeat the subscribed names (SotW); a thousand clients send the same
// list, so its encoding (field 3, repeated string) is built once per list and
// carried as a pre-encoded unknown-field run, which protobuf-es copies as is.
const encodedNames = new WeakMap<readonly string[], Uint8Array>();
function namesRun(names: readonly string[]): Uint8Array {
  let run = encodedNames.get(names);
  if (!run) {
    const w = new BinaryWriter();
    names.forEach((n, i) => {
      if (i > 0) w.tag(3, WireType.LengthDelimited);
      w.string(n);
    });
    encodedNames.set(names, (run = w.finish()));
  }
  return run;
}

const edsNamesByVersion = new Map<string, string[]>();
const rdsNamesByVersion = new Map<string, string[]>();

function edsNames(res: DiscoveryResponse): string[] {
  let names = edsNamesByVersion.get(res.versionInfo);
  if (!names) {
    names = [];
    for (const any of res.resources) {
      const c = fromBinary(ClusterSchema, any.value);
      if (c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS) names.push(c.edsClusterConfig?.serviceName || c.name);
    }
    names.sort();
    edsNamesByVersion.set(res.versionInfo, names);
  }
  return names;
}

function rdsNames(res: DiscoveryResponse): string[] {
  let names = rdsNamesByVersion.get(res.versionInfo);
  if (!names) {
    const set = new Set<string>();
    for (const any of res.resources) {
      const l = fromBinary(ListenerSchema, any.value);
      for (const chain of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
        for (const f of chain.filters) {
          if (f.configType.case !== "typedConfig" || !f.configType.value.typeUrl.endsWith("HttpConnectionManager")) continue;
          const hcm = unpackAny(f.configType.value, HttpConnectionManagerSchema);
          if (hcm.routeSpecifier.case === "rds") set.add(hcm.routeSpecifier.value.routeConfigName);
        }
      }
    }
    names = [...set].sort();
    rdsNamesByVersion.set(res.versionInfo, names);
  }
  return names;
}

export interface LoadClient {
  id: string;
  /** performance.now() when the client had CDS, LDS and every EDS/RDS resource it asked for. */
  completeAt?: number;
  lastEdsAt: number;
  edsResponses: number;
  error?: Error;
  /** Delta only: how many EDS resources the client holds and how many it subscribed to. */
  heldEds?: () => number;
  subscribedEds?: () => number;
  close(): void;
}

class Outbox<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake?: () => void;
  private done = false;
  push(r: T) {
    this.items.push(r);
    this.wake?.();
  }
  end() {
    this.done = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator]() {
    for (;;) {
      const next = this.items.shift();
      if (next) yield next;
      else if (this.done) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

export function startLoadClient(addr: string, id: string, namespace: string, onEds?: (c: LoadClient, res: DiscoveryResponse) => void): LoadClient {
  const transport = createGrpcTransport({ baseUrl: `http://${addr}` });
  const ads = createClient(AggregatedDiscoveryService, transport);
  const abort = new AbortController();
  const out = new Outbox<DiscoveryRequest>();
  const names = new Map<string, string[]>([[EDS, []], [RDS, []]]);
  const last = new Map<string, { version: string; nonce: string; count: number }>();
  const client: LoadClient = { id, lastEdsAt: 0, edsResponses: 0, close: () => (abort.abort(), out.end()) };
  let first = true;
  const request = (typeUrl: string, resourceNames: string[] = []) => {
    const l = last.get(typeUrl);
    const req = create(DiscoveryRequestSchema, { typeUrl, versionInfo: l?.version ?? "", responseNonce: l?.nonce ?? "" });
    if (resourceNames.length) req.$unknown = [{ no: 3, wireType: WireType.LengthDelimited, data: namesRun(resourceNames) }];
    if (first) {
      req.node = create(NodeSchema, { id, cluster: "bench", metadata: { NAMESPACE: namespace, LABELS: { app: "bench-client" } } });
      first = false;
    }
    out.push(req);
  };
  const checkComplete = () => {
    if (client.completeAt !== undefined) return;
    if (!last.has(CDS) || !last.has(LDS)) return;
    for (const t of [EDS, RDS]) {
      const want = names.get(t)!;
      if (want.length && (last.get(t)?.count ?? -1) < want.length) return;
    }
    client.completeAt = performance.now();
  };
  request(CDS);
  request(LDS);
  void (async () => {
    try {
      for await (const res of ads.streamAggregatedResources(out, { signal: abort.signal })) {
        last.set(res.typeUrl, { version: res.versionInfo, nonce: res.nonce, count: res.resources.length });
        let follow: [string, string[]] | undefined;
        if (res.typeUrl === CDS) follow = [EDS, edsNames(res)];
        if (res.typeUrl === LDS) follow = [RDS, rdsNames(res)];
        request(res.typeUrl, res.typeUrl === EDS || res.typeUrl === RDS ? names.get(res.typeUrl)! : []); // ACK
        if (follow) {
          const [t, want] = follow;
          const had = names.get(t)!;
          if (want.length !== had.length || want.some((n, i) => n !== had[i])) {
            names.set(t, want);
            request(t, want);
          }
        }
        if (res.typeUrl === EDS) {
          client.lastEdsAt = performance.now();
          client.edsResponses++;
          onEds?.(client, res);
        }
        checkComplete();
      }
    } catch (error) {
      if (!abort.signal.aborted) client.error = error as Error;
    }
  })();
  return client;
}

/** Route names per listener resource version (delta responses carry versions per resource). */
const rdsByListenerVersion = new Map<string, string[]>();

function routeNamesOfListener(any: { typeUrl: string; value: Uint8Array }, version: string): string[] {
  let names = rdsByListenerVersion.get(version);
  if (!names) {
    names = rdsNames({ versionInfo: `listener:${version}`, resources: [any] } as unknown as DiscoveryResponse);
    rdsByListenerVersion.set(version, names);
  }
  return names;
}

const edsByClusterVersion = new Map<string, string | null>();

/**
 * The same simulated sidecar over incremental xDS (DeltaAggregatedResources),
 * as Istio's Envoy runs by default since 1.22: ACKs carry only the nonce, and
 * subscriptions change by difference.
 */
export function startDeltaLoadClient(addr: string, id: string, namespace: string, onEds?: (c: LoadClient, res: { resources: Array<{ name: string; resource?: { value: Uint8Array } }> }) => void): LoadClient {
  const transport = createGrpcTransport({ baseUrl: `http://${addr}` });
  const ads = createClient(AggregatedDiscoveryService, transport);
  const abort = new AbortController();
  const out = new Outbox<DeltaDiscoveryRequest>();
  const held = new Map<string, Map<string, string>>([[CDS, new Map()], [LDS, new Map()], [EDS, new Map()], [RDS, new Map()]]);
  const client: LoadClient = {
    id,
    lastEdsAt: 0,
    edsResponses: 0,
    heldEds: () => held.get(EDS)!.size,
    subscribedEds: () => subscribed.get(EDS)!.size,
    close: () => (abort.abort(), out.end()),
  };
  const clusterEds = new Map<string, string | null>();
  const listenerRoutes = new Map<string, string[]>();
  const subscribed = new Map<string, Set<string>>([[EDS, new Set()], [RDS, new Set()]]);
  let first = true;
  const send = (init: Partial<Pick<DeltaDiscoveryRequest, "typeUrl" | "responseNonce" | "resourceNamesSubscribe" | "resourceNamesUnsubscribe">>) => {
    const req = create(DeltaDiscoveryRequestSchema, init);
    if (first) {
      req.node = create(NodeSchema, { id, cluster: "bench", metadata: { NAMESPACE: namespace, LABELS: { app: "bench-client" } } });
      first = false;
    }
    out.push(req);
  };
  const resubscribe = (t: string, want: Set<string>) => {
    const have = subscribed.get(t)!;
    const add = [...want].filter((n) => !have.has(n));
    const drop = [...have].filter((n) => !want.has(n));
    if (add.length || drop.length) {
      subscribed.set(t, want);
      send({ typeUrl: t, resourceNamesSubscribe: add, resourceNamesUnsubscribe: drop });
    }
  };
  const checkComplete = () => {
    if (client.completeAt !== undefined || held.get(CDS)!.size === 0 || held.get(LDS)!.size === 0) return;
    for (const t of [EDS, RDS]) for (const n of subscribed.get(t)!) if (!held.get(t)!.has(n)) return;
    client.completeAt = performance.now();
  };
  send({ typeUrl: CDS });
  send({ typeUrl: LDS });
  void (async () => {
    try {
      for await (const res of ads.deltaAggregatedResources(out, { signal: abort.signal })) {
        const h = held.get(res.typeUrl) ?? new Map<string, string>();
        for (const r of res.resources) h.set(r.name, r.version);
        for (const n of res.removedResources) h.delete(n);
        send({ typeUrl: res.typeUrl, responseNonce: res.nonce }); // ACK
        if (res.typeUrl === CDS) {
          for (const r of res.resources) {
            const key = `${r.name}@${r.version}`;
            let eds = edsByClusterVersion.get(key);
            if (eds === undefined) {
              const c = fromBinary(ClusterSchema, r.resource!.value);
              eds = c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS ? c.edsClusterConfig?.serviceName || c.name : null;
              edsByClusterVersion.set(key, eds);
            }
            clusterEds.set(r.name, eds);
          }
          for (const n of res.removedResources) clusterEds.delete(n);
          resubscribe(EDS, new Set([...clusterEds.values()].filter((x): x is string => x !== null)));
        } else if (res.typeUrl === LDS) {
          for (const r of res.resources) listenerRoutes.set(r.name, routeNamesOfListener(r.resource!, `${r.name}@${r.version}`));
          for (const n of res.removedResources) listenerRoutes.delete(n);
          resubscribe(RDS, new Set([...listenerRoutes.values()].flat()));
        } else if (res.typeUrl === EDS) {
          client.lastEdsAt = performance.now();
          client.edsResponses++;
          onEds?.(client, res);
        }
        checkComplete();
      }
    } catch (error) {
      if (!abort.signal.aborted) client.error = error as Error;
    }
  })();
  return client;
}
