// Load balancers over one set of hosts (one priority level). Built once per
// endpoint update; `pick` is allocation-free.
import type { Host } from "./host.js";
import { hash32 } from "./hash.js";

export type LbPolicy = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH" | "MAGLEV";

export interface LbOptions {
  policy: LbPolicy;
  /** LEAST_REQUEST choice_count (default 2: power of two choices). */
  choiceCount: number;
  /** LEAST_REQUEST active_request_bias (default 1.0). */
  activeRequestBias: number;
  minimumRingSize: number;
  maximumRingSize: number;
  maglevTableSize: number;
  random: () => number;
}

export interface LoadBalancer {
  /** `hash` is used by RING_HASH/MAGLEV; undefined → a random host. */
  pick(hash: number | undefined): Host | undefined;
}

export function createLoadBalancer(hosts: readonly Host[], opts: LbOptions): LoadBalancer {
  if (hosts.length === 0) return { pick: () => undefined };
  switch (opts.policy) {
    case "ROUND_ROBIN":
      return createRoundRobin(hosts);
    case "LEAST_REQUEST":
      return createLeastRequest(hosts, opts);
    case "RANDOM":
      return { pick: () => hosts[Math.floor(opts.random() * hosts.length)] };
    case "RING_HASH":
      return createRingHash(hosts, opts);
    case "MAGLEV":
      return createMaglev(hosts, opts);
  }
}

function allEqualWeights(hosts: readonly Host[]): boolean {
  const w = hosts[0].weight;
  for (const h of hosts) if (h.weight !== w) return false;
  return true;
}

/** Plain rotation when weights are equal, smooth weighted round robin otherwise (same long-run shares as Envoy's EDF). */
function createRoundRobin(hosts: readonly Host[]): LoadBalancer {
  // Envoy starts each LB at a random index so that many proxies don't hit the same host first.
  let next = Math.floor(Math.random() * hosts.length);
  if (allEqualWeights(hosts)) {
    return {
      pick() {
        const h = hosts[next];
        next = (next + 1) % hosts.length;
        return h;
      },
    };
  }
  const current = new Float64Array(hosts.length);
  let total = 0;
  for (const h of hosts) total += h.weight;
  return {
    pick() {
      let best = 0;
      for (let i = 0; i < hosts.length; i++) {
        current[i] += hosts[i].weight;
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      return hosts[best];
    },
  };
}

/**
 * Envoy's LEAST_REQUEST: with equal weights, P2C (choice_count random picks,
 * fewest active requests wins); with unequal weights, weighted selection by
 * weight / (active_requests + 1)^active_request_bias.
 */
function createLeastRequest(hosts: readonly Host[], opts: LbOptions): LoadBalancer {
  if (allEqualWeights(hosts)) {
    return {
      pick() {
        let best = hosts[Math.floor(opts.random() * hosts.length)];
        for (let i = 1; i < opts.choiceCount; i++) {
          const c = hosts[Math.floor(opts.random() * hosts.length)];
          if (c.activeRequests < best.activeRequests) best = c;
        }
        return best;
      },
    };
  }
  const current = new Float64Array(hosts.length);
  const bias = opts.activeRequestBias;
  return {
    pick() {
      let total = 0;
      let best = 0;
      for (let i = 0; i < hosts.length; i++) {
        const h = hosts[i];
        const eff = bias === 0 ? h.weight : h.weight / Math.pow(h.activeRequests + 1, bias);
        current[i] += eff;
        total += eff;
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      return hosts[best];
    },
  };
}

/** Ketama-style ring: each host gets points proportional to its weight; lookup by binary search. */
function createRingHash(hosts: readonly Host[], opts: LbOptions): LoadBalancer {
  let totalWeight = 0;
  let minWeight = Infinity;
  for (const h of hosts) {
    totalWeight += h.weight;
    minWeight = Math.min(minWeight, h.weight / 1);
  }
  // Envoy: scale so the least-weighted host gets at least one entry and the ring has at least minimum_ring_size.
  const minNorm = minWeight / totalWeight;
  const scale = Math.min(Math.ceil(minNorm * opts.minimumRingSize) / minNorm, opts.maximumRingSize);
  const points: Array<{ hash: number; host: Host }> = [];
  let target = 0;
  let made = 0;
  for (const h of hosts) {
    target += (h.weight / totalWeight) * scale;
    const n = Math.floor(target) - made;
    for (let i = 0; i < n; i++) points.push({ hash: hash32(`${h.key}_${i}`), host: h });
    made += n;
  }
  points.sort((a, b) => a.hash - b.hash);
  const hashes = Uint32Array.from(points, (p) => p.hash);
  const ringHosts = points.map((p) => p.host);
  return {
    pick(hash) {
      if (ringHosts.length === 0) return undefined;
      const hv = hash === undefined ? Math.floor(opts.random() * 0x100000000) : hash;
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (hashes[mid] < hv) lo = mid + 1;
        else hi = mid;
      }
      return ringHosts[lo === hashes.length ? 0 : lo];
    },
  };
}

/** Maglev lookup table (default 65537 entries), weighted like Envoy: a host fills a slot each time its credit reaches the max weight. */
function createMaglev(hosts: readonly Host[], opts: LbOptions): LoadBalancer {
  const m = opts.maglevTableSize;
  const table = new Int32Array(m).fill(-1);
  const n = hosts.length;
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    offset[i] = hash32(hosts[i].key, 0) % m;
    skip[i] = (hash32(hosts[i].key, 0x9e3779b9) % (m - 1)) + 1;
    maxWeight = Math.max(maxWeight, hosts[i].weight);
  }
  let filled = 0;
  while (filled < m) {
    for (let i = 0; i < n && filled < m; i++) {
      credit[i] += hosts[i].weight;
      if (credit[i] < maxWeight) continue;
      credit[i] -= maxWeight;
      let c = (offset[i] + next[i] * skip[i]) % m;
      while (table[c] >= 0) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      table[c] = i;
      next[i]++;
      filled++;
    }
  }
  return {
    pick(hash) {
      const hv = hash === undefined ? Math.floor(opts.random() * 0x100000000) : hash;
      return hosts[table[hv % m]];
    },
  };
}
