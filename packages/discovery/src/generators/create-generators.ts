// The XdsGenerators for CDS, EDS, LDS, RDS and SDS, keyed by type URL as the
// server's config cache expects. Each is pure over (proxy config key, push,
// names); shared pieces (clusters, load assignments) are cached on the push.
import { TypeUrl } from "@weft/xds-api";
import { pino, type Logger } from "pino";
import type { ProxyInfo, PushContext, XdsGenerator, XdsResource } from "../contracts.js";
import { applyEnvoyFilters } from "../envoy-filter/apply-envoy-filters.js";
import { MeshPushContext } from "../push-context/push-context.js";
import { generateClusters } from "./cds.js";
import { generateEndpoints } from "./eds.js";
import { generateListeners } from "./lds.js";
import { generateRoutes } from "./rds.js";
import { generateSecrets } from "./sds.js";

type Generate = (push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]) => XdsResource[];

function meshPush(push: PushContext): MeshPushContext {
  if (!(push instanceof MeshPushContext)) throw new Error("the xDS generators need a push context from createPushContextBuilder()");
  return push;
}

export interface XdsGeneratorsOptions {
  /** Where EnvoyFilters that cannot be applied are reported (warn); silent by default. */
  logger?: Logger;
  /** Where SDS problems (a missing or unreadable Secret, a denied name) are reported (warn); `logger` by default. */
  sdsLogger?: Logger;
}

function generator(fn: Generate, filterByName: boolean, logger: Logger): XdsGenerator {
  return {
    generate(proxy, push, typeUrl, names) {
      const mesh = meshPush(push);
      // EnvoyFilters patch the finished resources of the proxy (as istiod patches after building them).
      const all = applyEnvoyFilters(mesh, proxy, typeUrl, fn(mesh, proxy, names), logger);
      if (!filterByName || !names) return all;
      const wanted = new Set(names);
      return all.filter((r) => wanted.has(r.name));
    },
  };
}

/** Type URL → generator for the five types Weft serves. */
export function createXdsGenerators(options: XdsGeneratorsOptions = {}): ReadonlyMap<string, XdsGenerator> {
  const logger = options.logger ?? pino({ level: "silent" });
  const sdsLogger = options.sdsLogger ?? logger;
  return new Map<string, XdsGenerator>([
    [TypeUrl.Cluster, generator(generateClusters, true, logger)],
    [TypeUrl.ClusterLoadAssignment, generator(generateEndpoints, false, logger)],
    [TypeUrl.Listener, generator(generateListeners, false, logger)],
    [TypeUrl.RouteConfiguration, generator(generateRoutes, false, logger)],
    // EnvoyFilters do not patch secrets (istiod has no applyTo for them).
    [TypeUrl.Secret, { generate: (proxy, push, _typeUrl, names) => generateSecrets(meshPush(push), proxy, names, sdsLogger) }],
  ]);
}

/** One generator for every type (dispatching on the type URL). */
export function createXdsGenerator(options: XdsGeneratorsOptions = {}): XdsGenerator {
  const byType = createXdsGenerators(options);
  return {
    generate(proxy, push, typeUrl, names) {
      const g = byType.get(typeUrl);
      if (!g) throw new Error(`unsupported type URL ${JSON.stringify(typeUrl)}; Weft generates ${[...byType.keys()].join(", ")}`);
      return g.generate(proxy, push, typeUrl, names);
    },
  };
}
