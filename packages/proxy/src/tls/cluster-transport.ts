// A cluster's transport sockets: `transport_socket` (default raw_buffer) and
// `transport_socket_matches`, whose first entry whose `match` is a subset of
// the endpoint's filter_metadata["envoy.transport_socket_match"] wins —
// how Istio sends mTLS only to endpoints labelled `tlsMode: istio`.
import type { Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { Logger } from "pino";
import { ResourceRejectedError, type StatsStore } from "../contracts.js";
import { compileUpstreamTls, RAW_BUFFER_TYPE_URL, type TlsContextSpec } from "./compile-tls-context.js";
import { createLiveTlsContext, type LiveTlsContext } from "./live-tls-context.js";
import type { SecretStore } from "./secret-store.js";
import { createTlsStats, type TlsStats } from "./tls-stats.js";
import type { UpstreamTls } from "./upstream-tls.js";

export interface ClusterTransportSpec {
  /** undefined: raw_buffer. */
  default?: TlsContextSpec;
  matches: Array<{ name: string; match: Record<string, unknown>; tls?: TlsContextSpec }>;
}

type TransportSocketLike = NonNullable<Cluster["transportSocket"]>;

function compileSocket(ts: TransportSocketLike | undefined, res: string, field: string, report: (f: string, d?: string) => void): TlsContextSpec | undefined {
  if (!ts) return undefined;
  if (ts.configType.case !== "typedConfig") throw new ResourceRejectedError(res, field, `transport socket ${ts.name} needs typed_config`);
  const any = ts.configType.value;
  if (any.typeUrl === RAW_BUFFER_TYPE_URL) return undefined;
  if (any.typeUrl.endsWith("InternalUpstreamTransport")) {
    report("cluster.transport_socket.internal_upstream", "internal upstream transport is not implemented; its inner transport socket is used");
    return undefined;
  }
  return compileUpstreamTls(any, res, `${field}.typed_config`, report);
}

export function compileClusterTransport(c: Cluster, report: (f: string, d?: string) => void): ClusterTransportSpec | undefined {
  if (!c.transportSocket && c.transportSocketMatches.length === 0) return undefined;
  const spec: ClusterTransportSpec = {
    default: compileSocket(c.transportSocket, c.name, "transport_socket", report),
    matches: c.transportSocketMatches.map((m, i) => ({
      name: m.name,
      match: (m.match ?? {}) as Record<string, unknown>,
      tls: compileSocket(m.transportSocket, c.name, `transport_socket_matches[${i}].transport_socket`, report),
    })),
  };
  if (!spec.default && spec.matches.every((m) => !m.tls)) return undefined;
  return spec;
}

export interface ClusterTransport {
  /** The TLS to use towards a host with this transport-socket-match metadata; undefined = plaintext. */
  forHost(metadata: Readonly<Record<string, unknown>> | undefined): UpstreamTls | undefined;
  /** True once every TLS context's secrets have arrived (the cluster is warm). */
  ready(): boolean;
  release(): void;
}

function subset(want: Record<string, unknown>, have: Readonly<Record<string, unknown>> | undefined): boolean {
  for (const k in want) {
    if (!have || JSON.stringify(have[k]) !== JSON.stringify(want[k])) return false;
  }
  return true;
}

export function createClusterTransport(spec: ClusterTransportSpec, clusterName: string, store: SecretStore, stats: StatsStore, log: Logger): ClusterTransport {
  const tlsStats: TlsStats = createTlsStats(stats, `cluster.${clusterName}.`);
  const live: LiveTlsContext[] = [];
  const bind = (t: TlsContextSpec | undefined): UpstreamTls | undefined => {
    if (!t) return undefined;
    const l = createLiveTlsContext(t, store, log.child({ cluster: clusterName }));
    live.push(l);
    return { live: l, stats: tlsStats };
  };
  const dflt = bind(spec.default);
  const matches = spec.matches.map((m) => ({ match: m.match, tls: bind(m.tls) }));
  return {
    forHost(md) {
      for (const m of matches) if (subset(m.match, md)) return m.tls;
      return dflt;
    },
    ready: () => live.every((l) => l.ready()),
    release() {
      for (const l of live) l.release();
    },
  };
}
