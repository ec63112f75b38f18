// A small mesh in YAML for generator unit tests: `reviews` (3 versions, 9080
// http), `ratings` (grpc port), a TCP `mongo`, all in namespace default, plus
// whatever Istio config a test adds.
import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import type { ProxyInfo } from "../contracts.js";
import { createPushContextBuilder, type MeshPushContext, type PushContextOptions } from "../push-context/push-context.js";
import { generate, proxyOf, resourceJson, snapshotOf } from "./mesh-fixtures.js";

function pod(name: string, ip: string, labels: Record<string, string>, ns = "default"): string {
  return `---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec: { serviceAccountName: ${labels.app ?? "default"} }
status: { podIP: ${ip}, conditions: [{ type: Ready, status: "True" }] }
`;
}

export const SMALL_MESH = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  clusterIP: 10.96.0.10
  selector: { app: reviews }
  ports: [{ name: http, port: 9080 }]
---
apiVersion: v1
kind: Service
metadata: { name: ratings, namespace: default }
spec:
  clusterIP: 10.96.0.11
  selector: { app: ratings }
  ports: [{ name: grpc, port: 7070, targetPort: 7071 }]
---
apiVersion: v1
kind: Service
metadata: { name: mongo, namespace: default }
spec:
  clusterIP: 10.96.0.12
  selector: { app: mongo }
  ports: [{ name: mongo, port: 27017 }]
---
apiVersion: v1
kind: Service
metadata: { name: productpage, namespace: default }
spec:
  clusterIP: 10.96.0.13
  selector: { app: productpage }
  ports: [{ name: http, port: 9080 }]
${pod("reviews-v1", "10.1.0.1", { app: "reviews", version: "v1" })}${pod("reviews-v2", "10.1.0.2", { app: "reviews", version: "v2" })}${pod("reviews-v3", "10.1.0.3", { app: "reviews", version: "v3" })}${pod("ratings-v1", "10.1.0.4", { app: "ratings", version: "v1" })}${pod("mongo-0", "10.1.0.5", { app: "mongo" })}${pod("productpage-v1", "10.1.0.6", { app: "productpage", version: "v1" })}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
  - { name: v3, labels: { version: v3 } }
`;

export function smallPush(extraYaml = "", options: PushContextOptions = {}): MeshPushContext {
  const snap = snapshotOf(`${SMALL_MESH}${extraYaml ? `---\n${extraYaml}` : ""}`);
  if (snap.errors.length > 0) throw new Error(`test mesh has errors: ${JSON.stringify(snap.errors)}`);
  return createPushContextBuilder(options).build(snap);
}

export const productpageProxy = (labels: Record<string, string> = { app: "productpage", version: "v1" }, ns = "default"): ProxyInfo =>
  proxyOf({ ip: "10.1.0.6", pod: "productpage-v1", namespace: ns, labels });

export function json(push: MeshPushContext, proxy: ProxyInfo, type: keyof typeof TypeUrl, names?: string[]): JsonObject[] {
  return generate(push, proxy, TypeUrl[type], names).map((r) => resourceJson(r) as JsonObject);
}

/** The routes of one virtual host in route config `port`. */
export function vhostRoutes(push: MeshPushContext, proxy: ProxyInfo, port: string, vhost: string): JsonObject[] {
  const rc = json(push, proxy, "RouteConfiguration", [port])[0];
  const vh = (rc.virtual_hosts as JsonObject[]).find((v) => v.name === vhost);
  if (!vh) throw new Error(`no virtual host ${vhost} in route config ${port}`);
  return vh.routes as JsonObject[];
}
