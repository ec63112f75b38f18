// The immutable view one push is computed from: the registry, the Istio config
// store, and per-proxy scopes (what a proxy sees after namespace scoping,
// exportTo and its Sidecar), cached by configKey so identical proxies share
// them. Generators read only from here.
import type { ConfigError, ConfigSnapshot, ProxyInfo, PushContext, PushContextBuilder } from "../contracts.js";
import { buildRegistry } from "../model/build-registry.js";
import { labelsKey } from "../model/labels.js";
import type { MeshService, Registry } from "../model/types.js";
import { checkSubsetReferences } from "./check-references.js";
import { checkGatewayServers } from "./check-gateways.js";
import { checkSecurityPolicies } from "../security/check-security.js";
import { exportedTo, hostMatches, qualifyHost } from "./hosts.js";
import { buildIstioStore, exportToOf, type IstioConfig, type IstioStore } from "./istio-config.js";
import { computeScope, type ProxyScope } from "./proxy-scope.js";
import { buildEnvoyFilterIndex, proxyMatchKey, type EnvoyFilterIndex } from "../envoy-filter/select.js";
import { buildCredentialStore, EMPTY_CREDENTIAL_STORE, type CredentialStore } from "../credentials/credential-store.js";

export interface PushContextOptions {
  domain?: string;
  /** Istio's root config namespace (mesh-wide Sidecar and DestinationRules). */
  rootNamespace?: string;
  /** Mesh default when no Sidecar sets one (Istio's meshConfig.outboundTrafficPolicy). */
  outboundTrafficPolicy?: "ALLOW_ANY" | "REGISTRY_ONLY";
  /** meshConfig.accessLogFile: when set (e.g. "/dev/stdout"), listeners get a file access log. */
  accessLogFile?: string;
  /** meshConfig.accessLogEncoding. */
  accessLogEncoding?: "TEXT" | "JSON";
  /**
   * How `inbound|port||` reaches the app: ORIGINAL_DST to the original
   * destination (pod IP) bound from 127.0.0.6, as Istio ≥ 1.10 does (needs
   * capture); or STATIC to 127.0.0.1:port (Istio < 1.10, and Weft's
   * no-capture local mode).
   */
  inboundCluster?: "ORIGINAL_DST" | "STATIC";
  /** Default upstream connect timeout (meshConfig.connectTimeout, Istio default 10s). */
  connectTimeoutMs?: number;
  /** meshConfig.trustDomain (SPIFFE ids `spiffe://<td>/ns/<ns>/sa/<sa>`); default: the domain. */
  trustDomain?: string;
  /** meshConfig.trustDomainAliases: principals in these trust domains are accepted as the mesh's own. */
  trustDomainAliases?: string[];
  /** meshConfig.enableAutoMtls (Istio default true). */
  enableAutoMtls?: boolean;
  /**
   * istiod's PILOT_SIDECAR_USE_REMOTE_ADDRESS (default false): sidecar outbound HTTP
   * listeners set use_remote_address, so an app's request (from the pod's own,
   * internal, address) is internal and keeps the x-envoy-* timeout and retry headers
   * it sets; off, the sidecar strips them, as Istio's default.
   */
  sidecarUseRemoteAddress?: boolean;
}

export type ResolvedOptions = Required<Omit<PushContextOptions, "accessLogFile">> & { accessLogFile?: string };

let counter = 0;

export class MeshPushContext implements PushContext {
  readonly version: string;
  readonly errors: readonly ConfigError[];
  /**
   * Errors found while generating (an EnvoyFilter whose result Envoy would
   * refuse): known only once a proxy's config is computed, shown with
   * `errors` on /debug/configz.
   */
  readonly runtimeErrors: ConfigError[] = [];
  /** Generator caches (keyed by generator-chosen strings); live as long as this push. */
  readonly cache = new Map<string, unknown>();
  private readonly scopes = new Map<string, ProxyScope>();
  private readonly keys = new WeakMap<ProxyInfo, string>();

  constructor(
    readonly registry: Registry,
    readonly istio: IstioStore,
    readonly options: ResolvedOptions,
    errors: readonly ConfigError[],
    readonly envoyFilters: EnvoyFilterIndex = buildEnvoyFilterIndex([], options.rootNamespace).index,
    /** The Secrets of this push, for SDS (generators/sds.ts). */
    readonly credentials: CredentialStore = EMPTY_CREDENTIAL_STORE,
  ) {
    this.version = `${Date.now().toString(36)}-${++counter}`;
    this.errors = errors;
  }

  configKey(proxy: ProxyInfo): string {
    let key = this.keys.get(proxy);
    if (key === undefined) {
      // EnvoyFilters select by namespace and labels (already here) and by match.proxy (node metadata): add those outcomes.
      key = `${proxy.type}|${proxy.generator ?? ""}|${proxy.namespace}|${labelsKey(proxy.labels)}${proxyMatchKey(this.envoyFilters, proxy)}`;
      this.keys.set(proxy, key);
    }
    return key;
  }

  scope(proxy: ProxyInfo): ProxyScope {
    const key = this.configKey(proxy);
    let s = this.scopes.get(key);
    if (!s) {
      s = computeScope(this, proxy, key);
      this.scopes.set(key, s);
    }
    return s;
  }

  /**
   * The DestinationRule for `host` as seen from `namespace`: the proxy's own
   * namespace first, then the service's namespace, then the root namespace,
   * then any other exported to it (istiod's getDestinationRule); an exact host
   * beats a wildcard.
   */
  destinationRule(namespace: string, service: Pick<MeshService, "hostname" | "namespace">): IstioConfig | undefined {
    const key = `dr|${namespace}|${service.hostname}|${service.namespace}`;
    if (this.cache.has(key)) return this.cache.get(key) as IstioConfig | undefined;
    const order = [namespace, service.namespace, this.options.rootNamespace];
    let best: IstioConfig | undefined;
    let bestRank = Infinity;
    for (const dr of this.istio.destinationRules) {
      const host = typeof dr.spec.host === "string" ? qualifyHost(dr.spec.host, dr.namespace, this.options.domain) : "";
      if (!hostMatches(host, service.hostname)) continue;
      if (dr.namespace !== namespace && !exportedTo(exportToOf(dr), dr.namespace, namespace)) continue;
      const nsRank = order.indexOf(dr.namespace);
      const rank = (nsRank < 0 ? 3 : nsRank) * 2 + (host === service.hostname ? 0 : 1);
      if (rank < bestRank) {
        best = dr;
        bestRank = rank;
      }
    }
    this.cache.set(key, best);
    return best;
  }

  /** A service by hostname as seen from `namespace` (own namespace's definition preferred). */
  service(hostname: string, namespace: string): MeshService | undefined {
    const list = this.registry.byHost.get(hostname);
    if (!list) return undefined;
    return list.find((s) => s.namespace === namespace) ?? list.find((s) => exportedTo(s.exportTo, s.namespace, namespace));
  }

  registryJson(): unknown {
    return this.registry.services.map((s) => ({
      hostname: s.hostname,
      namespace: s.namespace,
      kind: s.kind,
      vip: s.vip,
      resolution: s.resolution,
      ports: s.ports,
      endpoints: s.endpoints.map((e) => ({ address: e.address, port: e.port, servicePort: e.servicePort, healthy: e.healthy, serviceAccount: e.serviceAccount, labels: e.labels, locality: e.locality })),
    }));
  }

  configJson(): unknown {
    const all = [...this.istio.virtualServices, ...this.istio.destinationRules, ...this.istio.gateways, ...this.istio.sidecars, ...this.istio.other];
    return { configs: all.map((c) => ({ kind: c.kind, namespace: c.namespace, name: c.name, origin: c.origin, spec: c.spec })), errors: [...this.errors, ...this.runtimeErrors] };
  }
}

export interface MeshPushContextBuilder extends PushContextBuilder {
  build(snapshot: ConfigSnapshot, previous?: PushContext): MeshPushContext;
}

export function createPushContextBuilder(options: PushContextOptions = {}): MeshPushContextBuilder {
  const resolved: ResolvedOptions = {
    domain: options.domain ?? "cluster.local",
    rootNamespace: options.rootNamespace ?? "istio-system",
    outboundTrafficPolicy: options.outboundTrafficPolicy ?? "ALLOW_ANY",
    accessLogEncoding: options.accessLogEncoding ?? "TEXT",
    inboundCluster: options.inboundCluster ?? "ORIGINAL_DST",
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    trustDomain: options.trustDomain ?? options.domain ?? "cluster.local",
    trustDomainAliases: options.trustDomainAliases ?? [],
    enableAutoMtls: options.enableAutoMtls ?? true,
    sidecarUseRemoteAddress: options.sidecarUseRemoteAddress ?? false,
    ...(options.accessLogFile ? { accessLogFile: options.accessLogFile } : {}),
  };
  return {
    build(snapshot) {
      const registry = buildRegistry(snapshot.objects, resolved.domain);
      const istio = buildIstioStore(snapshot.objects);
      const referenceErrors = checkSubsetReferences(registry, istio, resolved);
      const securityErrors = checkSecurityPolicies(istio, resolved, registry);
      const gatewayErrors = checkGatewayServers(istio);
      const envoyFilters = buildEnvoyFilterIndex(istio.other, resolved.rootNamespace);
      const credentials = buildCredentialStore(snapshot.objects);
      return new MeshPushContext(registry, istio, resolved, [...snapshot.errors, ...referenceErrors, ...securityErrors, ...gatewayErrors, ...envoyFilters.errors], envoyFilters.index, credentials);
    },
  };
}
