// The XdsGenerators for CDS, EDS, LDS and RDS, keyed by type URL as the
// server's config cache expects. Each is pure over (proxy config key, push,
// names); shared pieces (clusters, load assignments) are cached on the push.
import { TypeUrl } from "@weft/xds-api";
import type { ProxyInfo, PushContext, XdsGenerator, XdsResource } from "../contracts.js";
import { MeshPushContext } from "../push-context/push-context.js";
import { generateClusters } from "./cds.js";
import { generateEndpoints } from "./eds.js";
import { generateListeners } from "./lds.js";
import { generateRoutes } from "./rds.js";

type Generate = (push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]) => XdsResource[];

function meshPush(push: PushContext): MeshPushContext {
  if (!(push instanceof MeshPushContext)) throw new Error("the xDS generators need a push context from createPushContextBuilder()");
  return push;
}

function generator(fn: Generate, filterByName: boolean): XdsGenerator {
  return {
    generate(proxy, push, _typeUrl, names) {
      const all = fn(meshPush(push), proxy, names);
      if (!filterByName || !names) return all;
      const wanted = new Set(names);
      return all.filter((r) => wanted.has(r.name));
    },
  };
}

/** Type URL → generator for the four types Weft serves. */
export function createXdsGenerators(): ReadonlyMap<string, XdsGenerator> {
  return new Map<string, XdsGenerator>([
    [TypeUrl.Cluster, generator(generateClusters, true)],
    [TypeUrl.ClusterLoadAssignment, generator(generateEndpoints, false)],
    [TypeUrl.Listener, generator(generateListeners, false)],
    [TypeUrl.RouteConfiguration, generator(generateRoutes, false)],
  ]);
}

/** One generator for every type (dispatching on the type URL). */
export function createXdsGenerator(): XdsGenerator {
  const byType = createXdsGenerators();
  return {
    generate(proxy, push, typeUrl, names) {
      const g = byType.get(typeUrl);
      if (!g) throw new Error(`unsupported type URL ${JSON.stringify(typeUrl)}; Weft generates ${[...byType.keys()].join(", ")}`);
      return g.generate(proxy, push, typeUrl, names);
    },
  };
}
