// The seams inside discovery: sources → model → push context → generators →
// cache → server. Each arrow is an interface so a generator is testable with
// no server and the server with no Kubernetes (CONVENTIONS.md, habit 4).
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";

/** A Kubernetes or Istio object as read from a source, after schema checks. */
export interface ConfigObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; generation?: number; creationTimestamp?: string };
  spec?: unknown;
  /** Where it came from, for error messages: `path/to/file.yaml` (document 2). */
  origin: string;
  /** The whole object as parsed (status, subsets, endpoints… live here). */
  raw: Record<string, unknown>;
}

/** An object that was rejected, and why — reported, never fatal. */
export interface ConfigError {
  origin: string;
  /** `Kind namespace/name` when known. */
  object?: string;
  /** Dotted path of the field at fault, e.g. `spec.http[0].route[1].weight`. */
  field?: string;
  reason: string;
}

/** Everything a source currently holds that passed validation. */
export interface ConfigSnapshot {
  readonly objects: readonly ConfigObject[];
  readonly errors: readonly ConfigError[];
}

/** What changed since the last snapshot; the server decides what to push from it. */
export interface ConfigChange {
  /** Kinds touched (`Service`, `EndpointSlice`, `VirtualService`…). */
  kinds: ReadonlySet<string>;
  /** True when only endpoints (and Secrets) changed (Endpoints/EndpointSlice/Pod readiness/WorkloadEntry address): no full push, EDS (and SDS) only. */
  endpointsOnly: boolean;
  /** Service FQDNs whose endpoints changed (for EDS-only pushes to the proxies watching them). */
  endpointServices: ReadonlySet<string>;
  /**
   * `namespace/name` of the Secrets that were added, changed or removed. A
   * change of Secrets alone is not a full push (`endpointsOnly` stays true):
   * SDS goes only to the proxies watching the credentials they back.
   */
  secrets?: ReadonlySet<string>;
}

export interface ConfigSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  snapshot(): ConfigSnapshot;
  onChange(listener: (change: ConfigChange) => void): () => void;
}

/** A connected proxy as discovery understands it, parsed from its xDS Node. */
export interface ProxyInfo {
  /** The node id (`sidecar~10.1.2.3~pod.ns~ns.svc.cluster.local`). */
  id: string;
  type: "sidecar" | "router";
  ipAddresses: string[];
  /** `pod.ns` part of the id. */
  podName: string;
  namespace: string;
  dnsDomain: string;
  /** Node metadata as JSON (ISTIO_META_* → keys like LABELS, NAMESPACE, GENERATOR). */
  metadata: Record<string, unknown>;
  labels: Record<string, string>;
  /** `"grpc"` for proxyless gRPC clients (metadata GENERATOR), else undefined. */
  generator?: "grpc";
  node: Node;
  /**
   * Who the stream was authenticated as (istiod's VerifiedIdentity): set only
   * for ADS on the CA's TLS port, where the caller's token was checked and its
   * namespace matched the node's. Undefined on the plaintext xDS port.
   */
  verifiedIdentity?: VerifiedIdentity;
}

/** An authenticated workload identity. */
export interface VerifiedIdentity {
  namespace: string;
  serviceAccount: string;
}

/** An xDS resource ready to send: name, content version, packed message. */
export interface XdsResource {
  name: string;
  /** Content hash of `resource` (stable across runs for identical content). */
  version: string;
  resource: Any;
}

/** The immutable view of the mesh that one push is computed from. */
export interface PushContext {
  /** Monotonic, for logs and syncz. */
  readonly version: string;
  /** Config errors known when this context was built (debug/configz shows them). */
  readonly errors: readonly ConfigError[];
  /**
   * Proxies with the same key get identical config for every type except EDS
   * (computed once and shared). Depends on proxy type, namespace, labels,
   * generator, and the services selecting the proxy's workload.
   */
  configKey(proxy: ProxyInfo): string;
  /** For debug pages: registry summary (services, endpoints) as JSON. */
  registryJson(): unknown;
  /** For debug pages: the Istio config in effect as JSON. */
  configJson(): unknown;
}

export interface PushContextBuilder {
  build(snapshot: ConfigSnapshot, previous?: PushContext): PushContext;
}

/** Generates one xDS type for a proxy from a push context. */
export interface XdsGenerator {
  /**
   * All resources of `typeUrl` this proxy should have. For EDS and RDS the
   * caller passes the subscribed names (undefined = all the proxy needs).
   * Must be pure: same (proxy key, push, names) → same resources.
   */
  generate(proxy: ProxyInfo, push: PushContext, typeUrl: string, names?: readonly string[]): XdsResource[];
}

/** Parses an xDS Node into ProxyInfo, or throws an Error that says what is wrong with the node id. */
export type ProxyParser = (node: Node, domain: string) => ProxyInfo;
