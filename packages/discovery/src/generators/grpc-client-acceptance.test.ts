// Proxyless gRPC resources checked by the xDS client that consumes them:
// @grpc/grpc-js-xds's own resource types decode and validate each resource
// exactly as they do off the wire (decodeSingleResource + validateResource).
import { createRequire } from "node:module";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import type { XdsResource } from "../contracts.js";
import { generate, loadSnapshot, proxyOf, snapshotOf } from "../test-util/mesh-fixtures.js";
import { createPushContextBuilder } from "../push-context/push-context.js";

interface Decoder {
  decode(context: unknown, resource: { type_url: string; value: Buffer }): { name: string; value?: unknown; error?: string };
}
const require = createRequire(import.meta.url);
// register() installs grpc-js-xds's HTTP filters (router, fault, rbac), which validation looks up.
(require("@grpc/grpc-js-xds") as { register(): void }).register();
const load = (file: string, cls: string): Decoder => (require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<string, { get(): Decoder }>)[cls].get();

const DECODERS: Array<[string, Decoder]> = [
  [TypeUrl.Listener, load("listener-resource-type.js", "ListenerResourceType")],
  [TypeUrl.RouteConfiguration, load("route-config-resource-type.js", "RouteConfigurationResourceType")],
  [TypeUrl.Cluster, load("cluster-resource-type.js", "ClusterResourceType")],
  [TypeUrl.ClusterLoadAssignment, load("endpoint-resource-type.js", "EndpointResourceType")],
];
const context = { server: { serverUri: "127.0.0.1:15010", channelCredentials: { type: "insecure" }, serverFeatures: [] }, bootstrap: { certificateProviders: {} } };

function decodeAll(typeUrl: string, decoder: Decoder, resources: XdsResource[]): string[] {
  return resources.flatMap((r) => {
    const out = decoder.decode(context, { type_url: typeUrl, value: Buffer.from(r.resource.value) });
    return out.error ? [`${r.name}: ${out.error}`] : [];
  });
}

describe("proxyless gRPC resources as grpc-js-xds reads them", () => {
  it.each(DECODERS)("%s: every bookinfo resource decodes and validates", (typeUrl, decoder) => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-split, namespace: default }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    fault: { abort: { httpStatus: 503, percentage: { value: 10 } } }
    route: [{ destination: { host: reviews, subset: v2 } }]
  - timeout: 3s
    retries: { attempts: 2, retryOn: unavailable }
    route:
    - { destination: { host: reviews, subset: v1 }, weight: 80 }
    - { destination: { host: reviews, subset: v3 }, weight: 20 }
`;
    const snap = loadSnapshot("bookinfo");
    // Replace the sample's reviews VirtualService with one that uses what gRPC supports: fault, retries, timeout, a split.
    const objects = [...snap.objects.filter((o) => !(o.kind === "VirtualService" && o.metadata.name === "reviews")), ...snapshotOf(yaml).objects];
    const push = createPushContextBuilder().build({ objects, errors: [] });
    const client = proxyOf({ ip: "10.244.3.3", pod: "client-1", namespace: "default", generator: "grpc" });
    const resources = generate(push, client, typeUrl);
    expect(resources.length).toBeGreaterThan(0);
    expect(decodeAll(typeUrl, decoder, resources)).toEqual([]);
  });
});
