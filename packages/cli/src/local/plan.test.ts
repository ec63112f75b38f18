import { describe, expect, it } from "vitest";
import { LocalError } from "./errors.js";
import type { Manifest } from "./manifests.js";
import { hostsFile } from "./network.js";
import { buildPlan, parseLocalCommand } from "./plan.js";

const service = (name: string, ns = "default"): Manifest => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ name: "http", port: 9080 }] },
});
const deployment = (name: string, app: string, extra: Record<string, string> = {}, replicas = 1): Manifest => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    template: {
      metadata: { labels: { app, version: "v1" }, annotations: extra },
      spec: { serviceAccountName: `bookinfo-${app}`, containers: [{ name: app, ports: [{ containerPort: 9080 }] }] },
    },
  },
});

describe("buildPlan()", () => {
  const manifests = [service("details"), service("reviews"), deployment("details-v1", "details", { "weft.dev/local-command": '["node", "${WEFT_SAMPLES}/details.js"]' }), deployment("reviews-v1", "reviews", {}, 2)];
  const plan = buildPlan(manifests, { mode: "transparent", ingressPort: 8080 });

  it("gives each replica its own pod, IP and network namespace", () => {
    expect(plan.pods.map((p) => p.name)).toEqual(["details-v1-0", "reviews-v1-0", "reviews-v1-1"]);
    expect(new Set(plan.pods.map((p) => p.ip)).size).toBe(3);
    expect(plan.pods.every((p) => p.ip.startsWith("10.210.") && p.ip !== plan.bridge.ip)).toBe(true);
    expect(plan.pods.every((p) => p.hostVeth.length <= 15)).toBe(true);
    expect(plan.pods[0]).toMatchObject({ serviceAccount: "bookinfo-details", sidecar: true, containerPorts: [9080], command: ["node", "${WEFT_SAMPLES}/details.js"] });
  });

  it("assigns service VIPs and renders pods with status.podIP for discovery", () => {
    const vips = plan.services.map((s) => s.vip);
    expect(new Set(vips).size).toBe(vips.length);
    const renderedService = plan.rendered.find((m) => m.kind === "Service" && m.metadata.name === "details")!;
    expect((renderedService.spec as { clusterIP: string }).clusterIP).toBe(plan.services[0].vip);
    const pod = plan.rendered.find((m) => m.kind === "Pod" && m.metadata.name === "details-v1-0")!;
    expect(pod).toMatchObject({ status: { podIP: plan.pods[0].ip }, metadata: { labels: { app: "details", "security.istio.io/tlsMode": "istio" } } });
  });

  it("adds an ingress gateway whose ports 80 and 443 target the ingress ports", () => {
    const gw = plan.rendered.find((m) => m.kind === "Service" && m.metadata.name === "istio-ingressgateway")!;
    expect(gw.spec).toMatchObject({ selector: { istio: "ingressgateway" }, ports: [{ name: "http2", port: 80, targetPort: 8080 }, { name: "https", port: 443, targetPort: 8443 }] });
    expect(plan.gateway).toMatchObject({ namespace: "istio-system", port: 8080, httpsPort: 8443, ip: plan.bridge.ip });
    const custom = buildPlan([], { mode: "transparent", ingressPort: 18080, ingressHttpsPort: 18443 });
    expect(custom.services.find((s) => s.name === "istio-ingressgateway")!.ports).toMatchObject([{ port: 80, targetPort: 18080 }, { port: 443, targetPort: 18443 }]);
    expect(() => buildPlan([], { mode: "transparent", ingressPort: 8443 })).toThrow(/HTTP and HTTPS ports are both 8443/);
  });

  it("honours sidecar.istio.io/inject=false", () => {
    const p = buildPlan([deployment("x", "x", { "sidecar.istio.io/inject": "false" })], { mode: "transparent", ingressPort: 8080 });
    expect(p.pods[0].sidecar).toBe(false);
  });

  it("refuses two workloads that make the same pod", () => {
    expect(() => buildPlan([deployment("a", "a"), deployment("a", "b")], { mode: "transparent", ingressPort: 8080 })).toThrow(LocalError);
  });
});

describe("parseLocalCommand()", () => {
  it.each([
    ['["node", "a b.js"]', ["node", "a b.js"]],
    ["node app.js --port 80", ["node", "app.js", "--port", "80"]],
  ])("parses %s", (input, expected) => {
    expect(parseLocalCommand(input, "f")).toEqual(expected);
  });

  it("rejects a malformed JSON array with what to write instead", () => {
    expect(() => parseLocalCommand('["node", 1]', "f.yaml#1")).toThrow(/f\.yaml#1/);
  });
});

describe("hostsFile()", () => {
  it("resolves services by their Kubernetes names, short names only in the pod's namespace", () => {
    const text = hostsFile({ ip: "10.210.0.2", name: "p", namespace: "default" }, [
      { name: "details", namespace: "default", vip: "10.211.0.2", ports: [] },
      { name: "istiod", namespace: "istio-system", vip: "10.211.0.3", ports: [] },
      { name: "headless", namespace: "default", vip: "None", ports: [] },
    ]);
    expect(text).toContain("10.211.0.2\tdetails.default.svc.cluster.local details.default.svc details.default details\n");
    expect(text).toContain("10.211.0.3\tistiod.istio-system.svc.cluster.local istiod.istio-system.svc istiod.istio-system\n");
    expect(text).not.toContain("None");
  });

  it("explicit mode: pods on 127.10.x.y, apps beside them on 127.11.x.y, privileged ports shifted everywhere", () => {
    const web: Manifest = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 8000, targetPort: 80 }] } };
    const webDeploy = deployment("web", "web");
    (webDeploy.spec as { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> } } }).template.spec.containers[0].ports = [{ containerPort: 80 }];
    const p = buildPlan([web, webDeploy, service("details"), deployment("details-v1", "details")], { mode: "explicit", ingressPort: 8080 });
    const [webPod, details] = p.pods;
    expect(webPod.ip).toMatch(/^127\.10\./);
    expect(webPod.appIp).toBe(webPod.ip.replace(/^127\.10\./, "127.11."));
    expect(webPod.containerPorts).toEqual([20080]);
    expect(details.containerPorts).toEqual([9080]);
    const rendered = p.rendered.find((m) => m.kind === "Service" && m.metadata.name === "web")!;
    expect((rendered.spec as { ports: Array<{ port: number; targetPort: number }> }).ports).toEqual([{ name: "http", port: 8000, targetPort: 20080 }]);
    const renderedPod = p.rendered.find((m) => m.kind === "Pod" && m.metadata.name === "web-0")!;
    expect(renderedPod).toMatchObject({ status: { podIP: webPod.ip }, spec: { containers: [{ ports: [{ containerPort: 20080 }] }] } });
    expect(p.gateway.ip).toBe("127.0.0.1");
  });
});
