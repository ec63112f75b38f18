// Writes the bench mesh: S services (one file each: Service + EndpointSlice
// with E ready endpoints) in namespace `bench`, as Kubernetes would show them.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MeshShape {
  services: number;
  endpoints: number;
}

export function serviceFile(i: number, endpoints: number, generation = 0): string {
  const name = `svc-${i}`;
  const addrs = Array.from({ length: endpoints }, (_, e) => `10.${100 + Math.floor(i / 250)}.${i % 250}.${10 + e + generation * endpoints}`);
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: bench}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 8080, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-abcde
  namespace: bench
  labels: {kubernetes.io/service-name: ${name}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
${addrs.map((a) => `- addresses: ["${a}"]\n  conditions: {ready: true}`).join("\n")}
`;
}

export function writeMesh(dir: string, shape: MeshShape): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n");
  for (let i = 0; i < shape.services; i++) writeFileSync(join(dir, `svc-${i}.yaml`), serviceFile(i, shape.endpoints));
}

export function serviceFqdn(i: number): string {
  return `svc-${i}.bench.svc.cluster.local`;
}
