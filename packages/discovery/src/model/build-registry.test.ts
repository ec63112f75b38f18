import { describe, expect, it } from "vitest";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { buildRegistry } from "./build-registry.js";
import { resolveProtocol } from "./protocol.js";

const registry = (yaml: string) => {
  const snap = snapshotOf(yaml);
  expect(snap.errors).toEqual([]);
  return buildRegistry(snap.objects, "cluster.local");
};

describe("resolveProtocol()", () => {
  it.each([
    ["http", undefined, "HTTP"],
    ["http-web", undefined, "HTTP"],
    ["HTTP2", undefined, "HTTP2"],
    ["grpc-api", undefined, "GRPC"],
    ["grpc-web", undefined, "GRPC-WEB"],
    ["tcp-db", undefined, "TCP"],
    ["mongo", undefined, "MONGO"],
    ["metrics", undefined, "TCP"],
    ["", undefined, "TCP"],
    ["tcp", "http", "HTTP"],
    ["web", "kubernetes.io/h2c", "HTTP2"],
  ])("name %j appProtocol %j → %s", (name, app, protocol) => expect(resolveProtocol(name, app)).toBe(protocol));
});

describe("buildRegistry()", () => {
  it("derives endpoints from ready Pods, resolving a named targetPort", () => {
    const r = registry(`apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.1.1
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http-web }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web } }
spec:
  serviceAccountName: web-sa
  containers: [{ name: web, ports: [{ name: http-web, containerPort: 8080 }] }]
status: { podIP: 10.0.0.1, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, namespace: shop, labels: { app: web } }
status: { podIP: 10.0.0.2, conditions: [{ type: Ready, status: "False" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-3, namespace: other, labels: { app: web } }
status: { podIP: 10.0.0.3 }
`);
    const [svc] = r.services;
    expect(svc).toMatchObject({ hostname: "web.shop.svc.cluster.local", vip: "10.96.1.1", ports: [{ name: "http", port: 80, protocol: "HTTP" }] });
    expect(svc.endpoints.map((e) => [e.address, e.port, e.healthy, e.serviceAccount])).toEqual([
      ["10.0.0.1", 8080, true, "web-sa"],
      // web-2 has no container port named http-web: Kubernetes leaves it out too.
    ]);
  });

  it("reads legacy Endpoints (ready and not ready) when there is no EndpointSlice", () => {
    const r = registry(`apiVersion: v1
kind: Service
metadata: { name: db }
spec: { clusterIP: None, ports: [{ name: tcp, port: 5432 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: db }
subsets:
- addresses: [{ ip: 10.0.1.1 }]
  notReadyAddresses: [{ ip: 10.0.1.2 }]
  ports: [{ name: tcp, port: 5432 }]
`);
    const [svc] = r.services;
    expect(svc.vip).toBeUndefined();
    expect(svc.resolution).toBe("PASSTHROUGH");
    expect(svc.endpoints.map((e) => [e.address, e.healthy])).toEqual([
      ["10.0.1.1", true],
      ["10.0.1.2", false],
    ]);
  });

  it("lets a Service select WorkloadEntries, using their named ports", () => {
    const r = registry(`apiVersion: v1
kind: Service
metadata: { name: legacy }
spec: { clusterIP: 10.96.2.2, selector: { app: legacy }, ports: [{ name: http, port: 80, targetPort: 8000 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm-1 }
spec: { address: 192.0.2.7, labels: { app: legacy }, ports: { http: 9000 }, serviceAccount: vm-sa, locality: eu-west1/eu-west1-a }
`);
    expect(r.services[0].endpoints).toMatchObject([{ address: "192.0.2.7", port: 9000, serviceAccount: "vm-sa", locality: { region: "eu-west1", zone: "eu-west1-a" } }]);
  });

  it("keeps Deployments as workloads without an IP", () => {
    const r = registry(`apiVersion: apps/v1
kind: Deployment
metadata: { name: api }
spec:
  replicas: 2
  template:
    metadata: { labels: { app: api } }
    spec: { serviceAccountName: api }
`);
    expect(r.workloads).toMatchObject([{ kind: "Deployment", name: "api", labels: { app: "api" }, serviceAccount: "api" }]);
    expect(r.workloads[0].ip).toBeUndefined();
  });
});
