import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentEnv } from "../env/agent-env.js";
import { productpageEnv, TESTDATA } from "../test-util/productpage-env.js";
import { fromEnvoyJson, toEnvoyJson } from "@weft/xds-api";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { bootstrapIssues, hasMessageValidation } from "./validate-bootstrap.js";
import { buildBootstrap, bootstrapToJson } from "./bootstrap.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const golden: J = JSON.parse(readFileSync(join(TESTDATA, "envoy-rev0.json"), "utf8"));
// The golden as protobuf JSON writes it (defaults such as `protocol: TCP` omitted), for field-by-field comparison.
const goldenNormalized = toEnvoyJson(BootstrapSchema, fromEnvoyJson(BootstrapSchema, golden)) as J;
const env = loadAgentEnv(productpageEnv("/tmp/weft-agent-golden"));
const ours: J = JSON.parse(bootstrapToJson(buildBootstrap(env)));

const listenerPorts = (b: J) => b.static_resources.listeners.map((l: J) => l.address.socket_address.port_value);
const routesOf = (b: J) =>
  b.static_resources.listeners.map((l: J) => {
    const hcm = l.filter_chains[0].filters[0];
    const route = hcm.typed_config.route_config.virtual_hosts[0].routes[0];
    return [hcm.name, hcm.typed_config["@type"], hcm.typed_config.stat_prefix, route.match.prefix, route.route.cluster];
  });

describe("buildBootstrap() for bookinfo's productpage pod", () => {
  it("names the node as Istio does", () => {
    expect(ours.node.id).toBe("sidecar~10.244.1.10~productpage-v1-5d9b4c9849-c6rbk.default~default.svc.cluster.local");
    expect(ours.node.id).toBe(golden.node.id);
    expect(ours.node.cluster).toBe("productpage.default");
  });

  it("carries the golden node metadata keys with the same values", () => {
    const g = golden.node.metadata;
    const m = ours.node.metadata;
    for (const key of ["APP_CONTAINERS", "CLUSTER_ID", "INSTANCE_IPS", "INTERCEPTION_MODE", "LABELS", "MESH_ID", "NAME", "NAMESPACE", "OWNER", "PILOT_SAN", "SERVICE_ACCOUNT", "WORKLOAD_NAME", "PROXY_VIA_AGENT"]) {
      expect(m[key], key).toEqual(g[key]);
    }
    expect(JSON.parse(m.POD_PORTS)).toEqual(JSON.parse(g.POD_PORTS));
    expect(Object.keys(m.PROXY_CONFIG).sort()).toEqual(Object.keys(g.PROXY_CONFIG).sort());
    for (const key of ["concurrency", "discoveryAddress", "drainDuration", "terminationDrainDuration", "statusPort", "proxyAdminPort", "tracing", "statNameLength"]) {
      expect(m.PROXY_CONFIG[key], key).toEqual(g.PROXY_CONFIG[key]);
    }
    expect(m.ENVOY_STATUS_PORT).toBe(15021);
    expect(m.ENVOY_PROMETHEUS_PORT).toBe(15090);
    expect(m.ANNOTATIONS["prometheus.io/port"]).toBe("15020");
  });

  it("has the golden's static clusters, listeners, routes, stats tags and matchers", () => {
    expect(ours.static_resources.clusters.map((c: J) => c.name)).toEqual(golden.static_resources.clusters.map((c: J) => c.name));
    expect(listenerPorts(ours)).toEqual(listenerPorts(golden));
    expect(routesOf(ours)).toEqual(routesOf(golden));
    expect(ours.stats_config).toEqual(golden.stats_config);
    expect(ours.layered_runtime).toEqual(golden.layered_runtime);
    expect(ours.dynamic_resources).toEqual(golden.dynamic_resources);
    expect(ours.tracing).toEqual(golden.tracing);
    expect(ours.admin.address).toEqual(golden.admin.address);
  });

  it("matches each golden static cluster field by field, except the socket paths", () => {
    const byName = (b: J) => Object.fromEntries(b.static_resources.clusters.map((c: J) => [c.name, c]));
    const g = byName(goldenNormalized);
    const o = byName(ours);
    for (const name of Object.keys(g)) {
      const strip = (c: J) => JSON.parse(JSON.stringify(c).replace(/"path":"[^"]*"/g, '"path":"<socket>"'));
      expect(strip(o[name]), name).toEqual(strip(g[name]));
    }
    expect(o["xds-grpc"].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path).toBe("/tmp/weft-agent-golden/XDS");
    expect(o["sds-grpc"].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path).toBe("/tmp/weft-agent-golden/SDS");
  });

  it("writes the golden's 15090 and 15021 listeners exactly", () => {
    expect(ours.static_resources.listeners).toEqual(goldenNormalized.static_resources.listeners);
  });

  it("leaves tracing out when PROXY_CONFIG turns it off", () => {
    const e = loadAgentEnv({ ...productpageEnv("/tmp/x"), PROXY_CONFIG: "tracing: null" });
    const b: J = JSON.parse(bootstrapToJson(buildBootstrap(e)));
    expect(b.tracing).toBeUndefined();
    expect(b.static_resources.clusters.map((c: J) => c.name)).not.toContain("zipkin");
  });

  it("binds the admin and static listeners to WEFT_BIND_ADDRESS with overridden ports", () => {
    const e = loadAgentEnv({ ...productpageEnv("/tmp/x"), WEFT_BIND_ADDRESS: "127.0.10.2", WEFT_ADMIN_PORT: "25000", WEFT_STATUS_PORT: "25020", WEFT_HEALTH_PORT: "25021", WEFT_PROMETHEUS_PORT: "25090" });
    const b: J = JSON.parse(bootstrapToJson(buildBootstrap(e)));
    expect(b.admin.address.socket_address).toEqual({ address: "127.0.10.2", port_value: 25000 });
    expect(b.static_resources.listeners.map((l: J) => l.address.socket_address)).toEqual([
      { address: "127.0.10.2", port_value: 25090 },
      { address: "127.0.10.2", port_value: 25021 },
    ]);
    const agent = b.static_resources.clusters.find((c: J) => c.name === "agent");
    expect(agent.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(25020);
  });

  it("passes @weft/xds-api's validateMessage (protoc-gen-validate rules)", () => {
    expect(hasMessageValidation()).toBe(true);
    expect(bootstrapIssues(buildBootstrap(env))).toEqual([]);
  });

  it("is caught by validateMessage when a rule is broken", () => {
    const b = buildBootstrap(env);
    b.staticResources!.clusters[0].name = "";
    b.staticResources!.clusters[0].connectTimeout = { $typeName: "google.protobuf.Duration", seconds: -1n, nanos: 0 };
    expect(bootstrapIssues(b).map((i) => i.path)).toContain("static_resources.clusters[0].connect_timeout");
  });

  it("names a gateway router~… with the domain flag", () => {
    const e = loadAgentEnv({ ...productpageEnv("/tmp/x"), POD_NAME: "istio-ingressgateway-7d6b4c9c5-x2x9z", POD_NAMESPACE: "istio-system", INSTANCE_IP: "10.244.0.7", CANONICAL_SERVICE: "istio-ingressgateway" }, { proxyType: "router", domain: "istio-system.svc.cluster.local" });
    const b: J = JSON.parse(bootstrapToJson(buildBootstrap(e)));
    expect(b.node.id).toBe("router~10.244.0.7~istio-ingressgateway-7d6b4c9c5-x2x9z.istio-system~istio-system.svc.cluster.local");
    expect(b.node.cluster).toBe("istio-ingressgateway.istio-system");
  });
});
