// Hosts grouped by priority, with Envoy's priority load (health × overprovisioning
// factor, spill-over to the next priority), panic mode and locality-weighted LB.
import type { Host } from "./host.js";
import { createLoadBalancer, type LbOptions, type LoadBalancer } from "./load-balancer.js";

export interface PriorityLevel {
  hosts: Host[];
  healthy: Host[];
  /** Locality weights from EDS (LocalityLbEndpoints.load_balancing_weight), by localityKey. */
  localityWeights: Map<string, number>;
}

export interface PrioritySetOptions extends LbOptions {
  /** ClusterLoadAssignment.policy.overprovisioning_factor / 100 (default 1.4). */
  overprovisioningFactor: number;
  /** common_lb_config.healthy_panic_threshold in percent (default 50). */
  panicThresholdPercent: number;
  localityWeighted: boolean;
}

export interface PrioritySet {
  readonly levels: readonly PriorityLevel[];
  readonly totalHosts: number;
  readonly healthyHosts: number;
  pick(hash: number | undefined): Host | undefined;
}

interface LevelPicker {
  pick(hash: number | undefined): Host | undefined;
}

export function createPrioritySet(levels: PriorityLevel[], opts: PrioritySetOptions): PrioritySet {
  let total = 0;
  let healthy = 0;
  for (const l of levels) {
    total += l.hosts.length;
    healthy += l.healthy.length;
  }
  const health = levels.map((l) =>
    l.hosts.length === 0 ? 0 : Math.min(100, (opts.overprovisioningFactor * 100 * l.healthy.length) / l.hosts.length),
  );
  const totalHealth = Math.min(100, health.reduce((a, b) => a + b, 0));
  const panic = total > 0 && totalHealth < opts.panicThresholdPercent;

  // Envoy: in panic mode all hosts are used, spread over priorities by host count.
  const loads: number[] = [];
  if (panic) {
    for (const l of levels) loads.push((l.hosts.length / total) * 100);
  } else if (totalHealth > 0) {
    let remaining = 100;
    for (const h of health) {
      const normalized = (h * 100) / totalHealth;
      const load = Math.min(remaining, totalHealth < 100 ? normalized : h);
      loads.push(load);
      remaining -= load;
    }
  } else {
    for (let i = 0; i < levels.length; i++) loads.push(0);
  }

  const pickers: LevelPicker[] = levels.map((l) => createLevelPicker(panic ? l.hosts : l.healthy, l, opts));
  const cumulative = new Float64Array(loads.length);
  let acc = 0;
  for (let i = 0; i < loads.length; i++) {
    acc += loads[i];
    cumulative[i] = acc;
  }
  const single = loads.length === 1 || (loads.length > 0 && loads[0] >= 100);

  return {
    levels,
    totalHosts: total,
    healthyHosts: healthy,
    pick(hash) {
      if (acc <= 0) return undefined;
      if (single) return pickers[0].pick(hash);
      const r = opts.random() * acc;
      for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return pickers[i].pick(hash);
      return pickers[pickers.length - 1].pick(hash);
    },
  };
}

function createLevelPicker(hosts: Host[], level: PriorityLevel, opts: PrioritySetOptions): LevelPicker {
  if (!opts.localityWeighted || level.localityWeights.size === 0) {
    const lb = createLoadBalancer(hosts, opts);
    return lb;
  }
  // Locality-weighted LB: effective locality weight = weight × min(1, overprovisioning × healthy share).
  const byLocality = new Map<string, Host[]>();
  for (const h of hosts) {
    let list = byLocality.get(h.localityKey);
    if (!list) byLocality.set(h.localityKey, (list = []));
    list.push(h);
  }
  const entries: Array<{ weight: number; lb: LoadBalancer }> = [];
  for (const [key, list] of byLocality) {
    const weight = level.localityWeights.get(key) ?? 0;
    const all = level.hosts.filter((h) => h.localityKey === key).length;
    const eff = weight * Math.min(1, (opts.overprovisioningFactor * list.length) / Math.max(1, all));
    if (eff > 0) entries.push({ weight: eff, lb: createLoadBalancer(list, opts) });
  }
  if (entries.length === 0) return createLoadBalancer(hosts, opts);
  const current = new Float64Array(entries.length);
  let total = 0;
  for (const e of entries) total += e.weight;
  return {
    pick(hash) {
      let best = 0;
      for (let i = 0; i < entries.length; i++) {
        current[i] += entries[i].weight;
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      return entries[best].lb.pick(hash);
    },
  };
}
