// Small fakes of the other half's interfaces (source, push context builder,
// generators, proxy parser) so the server, cache and push queue are testable
// without the real YAML source and generators. The fake model: objects of
// kind "Service" whose spec is { port, endpoints: ["ip", …] }.
import { create } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { TypeUrl, packAny } from "@weft/xds-api";
import { ClusterSchema, Cluster_DiscoveryType } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import type { Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type {
  ConfigChange,
  ConfigObject,
  ConfigSnapshot,
  ConfigSource,
  ProxyInfo,
  PushContext,
  PushContextBuilder,
  XdsGenerator,
  XdsResource,
} from "../contracts.js";

export interface FakeService {
  name: string;
  namespace: string;
  port: number;
  endpoints: string[];
}

export function serviceObject(s: FakeService): ConfigObject {
  const spec = { port: s.port, endpoints: s.endpoints };
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: s.name, namespace: s.namespace },
    spec,
    origin: "fake",
    raw: { apiVersion: "v1", kind: "Service", metadata: { name: s.name, namespace: s.namespace }, spec },
  };
}

export interface FakeSource extends ConfigSource {
  /** Replaces the contents and announces `change`. */
  set(objects: ConfigObject[], change: ConfigChange): void;
  started: boolean;
}

export function createFakeSource(objects: ConfigObject[] = []): FakeSource {
  let current: ConfigSnapshot = { objects, errors: [] };
  const listeners = new Set<(c: ConfigChange) => void>();
  const source: FakeSource = {
    started: false,
    async start() {
      source.started = true;
    },
    async stop() {
      source.started = false;
    },
    snapshot: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(next, change) {
      current = { objects: next, errors: [] };
      for (const l of listeners) l(change);
    },
  };
  return source;
}

export function fullChange(...kinds: string[]): ConfigChange {
  return { kinds: new Set(kinds.length ? kinds : ["Service"]), endpointsOnly: false, endpointServices: new Set() };
}

export function endpointChange(...fqdns: string[]): ConfigChange {
  return { kinds: new Set(["EndpointSlice"]), endpointsOnly: true, endpointServices: new Set(fqdns) };
}

export interface FakePushContext extends PushContext {
  services: FakeService[];
}

export function fqdnOf(s: { name: string; namespace: string }): string {
  return `${s.name}.${s.namespace}.svc.cluster.local`;
}

export function clusterNameOf(s: FakeService): string {
  return `outbound|${s.port}||${fqdnOf(s)}`;
}

export function createFakePushContextBuilder(): PushContextBuilder & { builds: number } {
  let n = 0;
  const builder = {
    builds: 0,
    build(snapshot: ConfigSnapshot): PushContext {
      builder.builds++;
      const services = snapshot.objects
        .filter((o) => o.kind === "Service")
        .map((o) => {
          const spec = o.spec as { port: number; endpoints: string[] };
          return { name: o.metadata.name, namespace: o.metadata.namespace, port: spec.port, endpoints: [...spec.endpoints] };
        });
      const ctx: FakePushContext = {
        version: String(++n),
        errors: snapshot.errors,
        services,
        // All sidecars of a namespace see the same config in the fake model.
        configKey: (proxy) => `${proxy.type}/${proxy.namespace}/${proxy.generator ?? ""}`,
        registryJson: () => ({ services: services.map((s) => ({ hostname: fqdnOf(s), port: s.port, endpoints: s.endpoints })) }),
        configJson: () => ({ kinds: {} }),
      };
      return ctx;
    },
  };
  return builder;
}

function resource(name: string, any: XdsResource["resource"]): XdsResource {
  return { name, version: createHash("sha256").update(any.value).digest("hex").slice(0, 12), resource: any };
}

/** Generators for CDS, EDS, LDS, RDS over the fake model; `calls` counts generate() calls per type. */
export function createFakeGenerators(): { generators: Map<string, XdsGenerator>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const count = (t: string) => calls.set(t, (calls.get(t) ?? 0) + 1);
  const services = (push: PushContext) => (push as FakePushContext).services;
  const generators = new Map<string, XdsGenerator>([
    [TypeUrl.Cluster, {
      generate(_proxy, push) {
        count(TypeUrl.Cluster);
        return services(push).map((s) =>
          resource(clusterNameOf(s), packAny(ClusterSchema, create(ClusterSchema, {
            name: clusterNameOf(s),
            clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
            edsClusterConfig: { serviceName: clusterNameOf(s), edsConfig: { configSourceSpecifier: { case: "ads", value: {} } } },
          }))),
        );
      },
    }],
    [TypeUrl.ClusterLoadAssignment, {
      generate(_proxy, push, _type, names) {
        count(TypeUrl.ClusterLoadAssignment);
        const wanted = names ? new Set(names) : undefined;
        return services(push)
          .filter((s) => !wanted || wanted.has(clusterNameOf(s)))
          .map((s) =>
            resource(clusterNameOf(s), packAny(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, {
              clusterName: clusterNameOf(s),
              endpoints: [{
                lbEndpoints: s.endpoints.map((ip) => ({
                  hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address: ip, portSpecifier: { case: "portValue" as const, value: s.port } } } } } },
                })),
              }],
            }))),
          );
      },
    }],
    [TypeUrl.Listener, {
      generate(_proxy, push) {
        count(TypeUrl.Listener);
        const ports = [...new Set(services(push).map((s) => s.port))].sort();
        return ["virtualOutbound", ...ports.map((p) => `0.0.0.0_${p}`)].map((name) =>
          resource(name, packAny(ListenerSchema, create(ListenerSchema, { name }))),
        );
      },
    }],
    [TypeUrl.RouteConfiguration, {
      generate(_proxy, push, _type, names) {
        count(TypeUrl.RouteConfiguration);
        const ports = [...new Set(services(push).map((s) => String(s.port)))];
        return ports
          .filter((p) => !names || names.includes(p))
          .map((p) =>
            resource(p, packAny(RouteConfigurationSchema, create(RouteConfigurationSchema, {
              name: p,
              virtualHosts: services(push)
                .filter((s) => String(s.port) === p)
                .map((s) => ({ name: `${fqdnOf(s)}:${p}`, domains: [fqdnOf(s), `${fqdnOf(s)}:${p}`] })),
            }))),
          );
      },
    }],
  ]);
  return { generators, calls };
}

/** Parses Istio-style node ids (`type~ip~pod.ns~ns.svc.domain`), like the real parseProxy. */
export function fakeParseProxy(node: Node, domain: string): ProxyInfo {
  const parts = node.id.split("~");
  if (parts.length !== 4) throw new Error(`expected 4 parts separated by "~" (type~ip~pod.namespace~namespace.svc.${domain}), got ${parts.length}`);
  const [type, ip, pod, dns] = parts;
  if (type !== "sidecar" && type !== "router") throw new Error(`unknown proxy type ${JSON.stringify(type)}: expected "sidecar" or "router"`);
  const metadata = (node.metadata ?? {}) as Record<string, unknown>;
  const namespace = pod.split(".")[1] ?? dns.split(".")[0];
  const generator = metadata.GENERATOR === "grpc" ? "grpc" : undefined;
  return { id: node.id, type, ipAddresses: [ip], podName: pod, namespace, dnsDomain: dns, metadata, labels: {}, generator, node };
}
