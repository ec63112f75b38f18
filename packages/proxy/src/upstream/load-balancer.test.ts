import { describe, expect, it } from "vitest";
import { createHost, type Host } from "./host.js";
import { createLoadBalancer, type LbOptions, type LbPolicy } from "./load-balancer.js";
import { createPrioritySet } from "./priority-set.js";
import { hash32 } from "./hash.js";

function seeded(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const opts = (policy: LbPolicy, random = seeded()): LbOptions => ({
  policy,
  choiceCount: 2,
  activeRequestBias: 1,
  minimumRingSize: 1024,
  maximumRingSize: 8 * 1024 * 1024,
  maglevTableSize: 65537,
  random,
});

const hosts = (weights: number[]): Host[] => weights.map((w, i) => createHost({ ip: `10.0.0.${i + 1}`, port: 80, weight: w }));

function distribution(pick: () => Host | undefined, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = pick()!;
    m.set(h.ip, (m.get(h.ip) ?? 0) + 1);
  }
  return m;
}

describe("load balancers", () => {
  it("ROUND_ROBIN with equal weights rotates exactly", () => {
    const lb = createLoadBalancer(hosts([1, 1, 1]), opts("ROUND_ROBIN"));
    const d = distribution(() => lb.pick(undefined), 300);
    expect([...d.values()]).toEqual([100, 100, 100]);
  });

  it("ROUND_ROBIN honours weights exactly over a full cycle", () => {
    const lb = createLoadBalancer(hosts([1, 2, 5]), opts("ROUND_ROBIN"));
    const d = distribution(() => lb.pick(undefined), 800);
    expect([d.get("10.0.0.1"), d.get("10.0.0.2"), d.get("10.0.0.3")]).toEqual([100, 200, 500]);
  });

  it.each(["RANDOM", "LEAST_REQUEST"] as const)("%s spreads evenly (±10%%)", (policy) => {
    const lb = createLoadBalancer(hosts([1, 1, 1, 1]), opts(policy));
    const d = distribution(() => lb.pick(undefined), 8000);
    for (const v of d.values()) expect(Math.abs(v - 2000)).toBeLessThan(200);
  });

  it("LEAST_REQUEST (P2C) avoids the host with many active requests", () => {
    const hs = hosts([1, 1, 1, 1]);
    hs[0].activeRequests = 50;
    const lb = createLoadBalancer(hs, opts("LEAST_REQUEST"));
    const d = distribution(() => lb.pick(undefined), 4000);
    // The busy host only wins when both choices are it: (1/4)^2 of picks.
    expect(d.get("10.0.0.1") ?? 0).toBeLessThan(400);
  });

  it("LEAST_REQUEST with weights prefers heavier, idle hosts", () => {
    const lb = createLoadBalancer(hosts([1, 3]), opts("LEAST_REQUEST"));
    const d = distribution(() => lb.pick(undefined), 4000);
    expect(d.get("10.0.0.2")! / 4000).toBeCloseTo(0.75, 1);
  });

  it.each(["RING_HASH", "MAGLEV"] as const)("%s is consistent and spreads keys (±25%%)", (policy) => {
    const hs = hosts([1, 1, 1, 1]);
    const lb = createLoadBalancer(hs, opts(policy));
    const d = new Map<string, number>();
    for (let i = 0; i < 8000; i++) {
      const h = lb.pick(hash32(`user-${i}`))!;
      expect(lb.pick(hash32(`user-${i}`))).toBe(h);
      d.set(h.ip, (d.get(h.ip) ?? 0) + 1);
    }
    for (const v of d.values()) expect(Math.abs(v - 2000)).toBeLessThan(500);
  });

  it.each(["RING_HASH", "MAGLEV"] as const)("%s moves few keys when a host is removed", (policy) => {
    const all = hosts([1, 1, 1, 1, 1]);
    const before = createLoadBalancer(all, opts(policy));
    const after = createLoadBalancer(all.slice(0, 4), opts(policy));
    let moved = 0;
    for (let i = 0; i < 5000; i++) {
      const k = hash32(`k${i}`);
      const a = before.pick(k)!;
      if (a.ip !== "10.0.0.5" && after.pick(k)!.ip !== a.ip) moved++;
    }
    // Ideally only the removed host's keys move; the ring is rescaled (as Envoy's is) and maglev
    // refills its table, so some survivors' keys move too — far fewer than with modulo hashing (~80%).
    expect(moved / 5000).toBeLessThan(0.15);
  });

  it("MAGLEV honours weights", () => {
    const lb = createLoadBalancer(hosts([1, 3]), opts("MAGLEV"));
    let heavy = 0;
    for (let i = 0; i < 8000; i++) if (lb.pick(hash32(`m${i}`))!.ip === "10.0.0.2") heavy++;
    expect(heavy / 8000).toBeCloseTo(0.75, 1);
  });
});

describe("createPrioritySet()", () => {
  const level = (healthy: number, unhealthy: number, p: number) => {
    const hs = [
      ...Array.from({ length: healthy }, (_, i) => createHost({ ip: `10.${p}.0.${i + 1}`, port: 80, priority: p })),
      ...Array.from({ length: unhealthy }, (_, i) => createHost({ ip: `10.${p}.1.${i + 1}`, port: 80, priority: p, healthy: false })),
    ];
    return { hosts: hs, healthy: hs.filter((h) => h.healthy), localityWeights: new Map<string, number>() };
  };
  const base = { ...opts("ROUND_ROBIN"), overprovisioningFactor: 1.4, panicThresholdPercent: 50, localityWeighted: false };

  it("keeps all traffic on P0 while 1.4 × healthy share ≥ 100%", () => {
    const set = createPrioritySet([level(8, 2, 0), level(4, 0, 1)], base);
    const d = distribution(() => set.pick(undefined), 1000);
    expect([...d.keys()].every((ip) => ip.startsWith("10.0."))).toBe(true);
  });

  it("spills to P1 in proportion to P0's health deficit", () => {
    // P0 health = 1.4 × 50% = 70% → P1 gets 30%.
    const set = createPrioritySet([level(5, 5, 0), level(4, 0, 1)], { ...base, random: seeded(7) });
    const d = distribution(() => set.pick(undefined), 10000);
    let p1 = 0;
    for (const [ip, n] of d) if (ip.startsWith("10.1.")) p1 += n;
    expect(p1 / 10000).toBeCloseTo(0.3, 1);
  });

  it("enters panic mode below the threshold and uses all hosts", () => {
    const set = createPrioritySet([level(1, 9, 0)], base);
    const d = distribution(() => set.pick(undefined), 1000);
    expect(d.size).toBe(10);
  });

  it("returns undefined with no hosts", () => {
    expect(createPrioritySet([], base).pick(undefined)).toBeUndefined();
  });
});

describe("locality-weighted load balancing", () => {
  it("splits by locality weight, scaled by each locality's health", () => {
    const mk = (zone: string, n: number, unhealthy = 0) =>
      Array.from({ length: n }, (_, i) => createHost({ ip: `10.${zone === "a" ? 1 : 2}.0.${i + 1}`, port: 80, locality: { zone }, healthy: i >= unhealthy }));
    const hs = [...mk("a", 4), ...mk("b", 4, 2)];
    const weights = new Map([
      ["/a/", 1],
      ["/b/", 1],
    ]);
    const set = createPrioritySet([{ hosts: hs, healthy: hs.filter((h) => h.healthy), localityWeights: weights }], {
      ...opts("ROUND_ROBIN"),
      overprovisioningFactor: 1.4,
      panicThresholdPercent: 50,
      localityWeighted: true,
    });
    let a = 0;
    for (let i = 0; i < 1700; i++) if (set.pick(undefined)!.ip.startsWith("10.1.")) a++;
    // b's effective weight = 1 × min(1, 1.4 × 2/4) = 0.7 → a gets 1/1.7 of traffic.
    expect(a).toBe(1000);
  });
});
