// Envoy's FilterChainMatch selection: criteria are applied in order
// (destination port, destination IP, server name, transport protocol,
// application protocols, direct source IP, source type, source IP, source
// port); at each step the most specific matching chains survive, chains that
// leave the criterion empty survive only when none matched specifically, and
// there is no backtracking.
import type { FilterChainMatch } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { bestCidrMatch, compileCidr, type Cidr } from "./cidr.js";
import type { ConnInfo } from "./conn-info.js";
import { isInternalAddress } from "../http/request-headers.js";

export interface ChainMatch {
  destinationPort?: number;
  prefixRanges: Cidr[];
  serverNames: string[];
  transportProtocol: string;
  applicationProtocols: string[];
  directSourcePrefixRanges: Cidr[];
  sourceType: 0 | 1 | 2;
  sourcePrefixRanges: Cidr[];
  sourcePorts: number[];
}

export function compileChainMatch(m: FilterChainMatch | undefined, res: string, field: string): ChainMatch {
  return {
    destinationPort: m?.destinationPort,
    prefixRanges: (m?.prefixRanges ?? []).map((r, i) => compileCidr(r, res, `${field}.prefix_ranges[${i}]`)),
    serverNames: (m?.serverNames ?? []).map((s) => s.toLowerCase()),
    transportProtocol: m?.transportProtocol ?? "",
    applicationProtocols: m?.applicationProtocols ?? [],
    directSourcePrefixRanges: (m?.directSourcePrefixRanges ?? []).map((r, i) => compileCidr(r, res, `${field}.direct_source_prefix_ranges[${i}]`)),
    sourceType: (m?.sourceType ?? 0) as 0 | 1 | 2,
    sourcePrefixRanges: (m?.sourcePrefixRanges ?? []).map((r, i) => compileCidr(r, res, `${field}.source_prefix_ranges[${i}]`)),
    sourcePorts: m?.sourcePorts ?? [],
  };
}

/** Same criteria twice is a config error in Envoy ("multiple filter chains with the same matching rules"). */
export function chainMatchKey(m: ChainMatch): string {
  const c = (x: Cidr[]) => x.map((r) => r.key).sort().join(",");
  return [m.destinationPort ?? "", c(m.prefixRanges), [...m.serverNames].sort().join(","), m.transportProtocol, [...m.applicationProtocols].sort().join(","), c(m.directSourcePrefixRanges), m.sourceType, c(m.sourcePrefixRanges), [...m.sourcePorts].sort().join(",")].join("|");
}

export interface ConnFacts {
  destIp: string;
  destPort: number;
  serverName?: string;
  transportProtocol: string;
  applicationProtocols: string[];
  directSourceIp: string;
  sourceIp: string;
  sourcePort: number;
}

export function factsOf(conn: ConnInfo): ConnFacts {
  const local = conn.originalDst ?? conn.localAddress;
  const i = local.lastIndexOf(":");
  let ip = local.slice(0, i);
  if (ip.startsWith("[")) ip = ip.slice(1, -1);
  return {
    destIp: ip,
    destPort: Number(local.slice(i + 1)),
    serverName: conn.sni,
    transportProtocol: conn.transportProtocol,
    applicationProtocols: conn.alpnOffered ?? (conn.alpn ? [conn.alpn] : []),
    directSourceIp: conn.remoteIp,
    sourceIp: conn.remoteIp,
    sourcePort: conn.remotePort,
  };
}

type Scorer = (m: ChainMatch) => number; // >0 specific match (higher = better), 0 = unspecified, -1 = no match

function narrow<T extends { match: ChainMatch }>(cands: T[], score: Scorer): T[] {
  let best = -1;
  let out: T[] = [];
  const empties: T[] = [];
  for (const c of cands) {
    const s = score(c.match);
    if (s === 0) empties.push(c);
    else if (s > best) {
      best = s;
      out = [c];
    } else if (s === best && s > 0) out.push(c);
  }
  return best > 0 ? out : empties;
}

function serverNameScore(names: string[], sni: string | undefined): number {
  if (names.length === 0) return 0;
  if (!sni) return -1;
  const host = sni.toLowerCase();
  let best = -1;
  for (const n of names) {
    if (n === host) return 1_000_000;
    if (n.startsWith("*.") && host.endsWith(n.slice(1)) && host.length > n.length - 1) best = Math.max(best, n.length);
  }
  return best;
}

export function selectFilterChain<T extends { match: ChainMatch }>(chains: readonly T[], f: ConnFacts): T | undefined {
  let c = chains as T[];
  c = narrow(c, (m) => (m.destinationPort === undefined ? 0 : m.destinationPort === f.destPort ? 1 : -1));
  c = narrow(c, (m) => (m.prefixRanges.length === 0 ? 0 : bestCidrMatch(m.prefixRanges, f.destIp) + 1 || -1));
  c = narrow(c, (m) => serverNameScore(m.serverNames, f.serverName));
  c = narrow(c, (m) => (m.transportProtocol === "" ? 0 : m.transportProtocol === f.transportProtocol ? 1 : -1));
  c = narrow(c, (m) => (m.applicationProtocols.length === 0 ? 0 : m.applicationProtocols.some((p) => f.applicationProtocols.includes(p)) ? 1 : -1));
  c = narrow(c, (m) => (m.directSourcePrefixRanges.length === 0 ? 0 : bestCidrMatch(m.directSourcePrefixRanges, f.directSourceIp) + 1 || -1));
  c = narrow(c, (m) => {
    if (m.sourceType === 0) return 0;
    const local = f.sourceIp === f.destIp || isLoopback(f.sourceIp);
    return (m.sourceType === 1 ? local : !local) ? 1 : -1;
  });
  c = narrow(c, (m) => (m.sourcePrefixRanges.length === 0 ? 0 : bestCidrMatch(m.sourcePrefixRanges, f.sourceIp) + 1 || -1));
  c = narrow(c, (m) => (m.sourcePorts.length === 0 ? 0 : m.sourcePorts.includes(f.sourcePort) ? 1 : -1));
  return c[0];
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

export { isInternalAddress };
