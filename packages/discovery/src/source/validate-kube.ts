// Kubernetes kinds: the fields discovery reads, checked as the API server would.
import type { FieldChecker, Json } from "./field-checker.js";

export function validateKubeObject(kind: string, doc: Json, c: FieldChecker): void {
  const spec = c.object_(doc.spec, "spec") ?? {};
  switch (kind) {
    case "Service": {
      const names = new Set<string>();
      const ports = c.array(spec.ports, "spec.ports");
      ports.forEach((p, i) => {
        const port = c.object_(p, `spec.ports[${i}]`);
        if (!port) return;
        c.port(port.port, `spec.ports[${i}].port`, true);
        const name = c.string(port.name, `spec.ports[${i}].name`);
        if (ports.length > 1 && !name) c.fail(`spec.ports[${i}].name`, "every port must be named when a Service has more than one");
        if (name !== undefined) {
          if (names.has(name)) c.fail(`spec.ports[${i}].name`, `duplicate port name ${JSON.stringify(name)}`);
          names.add(name);
        }
        if (typeof port.targetPort === "number") c.port(port.targetPort, `spec.ports[${i}].targetPort`);
        else c.string(port.targetPort, `spec.ports[${i}].targetPort`);
        if (port.protocol !== undefined) c.oneOf(port.protocol, `spec.ports[${i}].protocol`, ["TCP", "UDP", "SCTP"]);
      });
      c.stringMap(spec.selector, "spec.selector");
      c.string(spec.clusterIP, "spec.clusterIP");
      break;
    }
    case "EndpointSlice": {
      c.array(doc.endpoints, "endpoints").forEach((e, i) => {
        const ep = c.object_(e, `endpoints[${i}]`);
        if (!ep) return;
        const addrs = c.array(ep.addresses, `endpoints[${i}].addresses`);
        if (addrs.length === 0) c.fail(`endpoints[${i}].addresses`, "an endpoint needs at least one address");
        addrs.forEach((a, j) => c.string(a, `endpoints[${i}].addresses[${j}]`, true));
      });
      c.array(doc.ports, "ports").forEach((p, i) => {
        const port = c.object_(p, `ports[${i}]`);
        if (port) c.port(port.port, `ports[${i}].port`);
      });
      break;
    }
    case "Endpoints": {
      c.array(doc.subsets, "subsets").forEach((s, i) => {
        const subset = c.object_(s, `subsets[${i}]`);
        if (!subset) return;
        for (const key of ["addresses", "notReadyAddresses"]) {
          c.array(subset[key], `subsets[${i}].${key}`).forEach((a, j) => {
            const addr = c.object_(a, `subsets[${i}].${key}[${j}]`);
            if (addr) c.string(addr.ip, `subsets[${i}].${key}[${j}].ip`, true);
          });
        }
        c.array(subset.ports, `subsets[${i}].ports`).forEach((p, j) => {
          const port = c.object_(p, `subsets[${i}].ports[${j}]`);
          if (port) c.port(port.port, `subsets[${i}].ports[${j}].port`, true);
        });
      });
      break;
    }
    case "Pod": {
      c.string(spec.serviceAccountName, "spec.serviceAccountName");
      c.array(spec.containers, "spec.containers").forEach((ct, i) => {
        const container = c.object_(ct, `spec.containers[${i}]`);
        if (!container) return;
        c.array(container.ports, `spec.containers[${i}].ports`).forEach((p, j) => {
          const port = c.object_(p, `spec.containers[${i}].ports[${j}]`);
          if (port) c.port(port.containerPort, `spec.containers[${i}].ports[${j}].containerPort`, true);
        });
      });
      const status = c.object_(doc.status, "status");
      if (status) c.string(status.podIP, "status.podIP");
      break;
    }
    case "Deployment": {
      const template = c.object_(spec.template, "spec.template");
      if (!template) c.fail("spec.template", "is required");
      c.integer(spec.replicas, "spec.replicas", 0, 2 ** 31 - 1);
      break;
    }
    default:
      break;
  }
}
