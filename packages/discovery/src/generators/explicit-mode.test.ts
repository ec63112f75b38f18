import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { allResources, generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";
import { EXPLICIT_ROUTE_NAME } from "./explicit-mode.js";

// productpage in explicit mode: pod address 127.10.0.6, its app on 127.11.0.6.
const explicitProxy = () =>
  proxyOf({ ip: "127.10.0.6", pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { INTERCEPTION_MODE: "NONE", WEFT_APP_ADDRESS: "127.11.0.6" } });

const HTTP80 = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { clusterIP: 10.96.0.20, selector: { app: web }, ports: [{ name: http, port: 80 }] }
`;

describe("explicit mode (INTERCEPTION_MODE=NONE)", () => {
  const push = smallPush(HTTP80);
  const listeners = json(push, explicitProxy(), "Listener");
  const byName = new Map(listeners.map((l) => [String(l.name), l]));

  it("binds only the proxy's own address: an HTTP proxy port and one listener per inbound port", () => {
    expect([...byName.keys()].sort()).toEqual(["127.10.0.6_15001", "127.10.0.6_9080"]);
    for (const l of listeners) {
      expect((l.address as { socket_address: { address: string } }).socket_address.address).toBe("127.10.0.6");
      expect(l.bind_to_port).toBeUndefined(); // Envoy's default: bound
      expect(l.use_original_dst).toBeUndefined();
    }
    expect(validationIssues(allResources(push, explicitProxy()))).toEqual([]);
  });

  it("routes the HTTP proxy port through one route config with every outbound HTTP service", () => {
    const hcm = ((byName.get("127.10.0.6_15001")!.filter_chains as JsonObject[])[0].filters as JsonObject[])[0].typed_config as JsonObject;
    expect((hcm.rds as JsonObject).route_config_name).toBe(EXPLICIT_ROUTE_NAME);
    const [rc] = json(push, explicitProxy(), "RouteConfiguration", [EXPLICIT_ROUTE_NAME]);
    const vhosts = rc.virtual_hosts as JsonObject[];
    const domainsOf = (name: string) => vhosts.find((v) => v.name === name)?.domains as string[];
    // Non-80 ports: only host:port forms (a client names the port in Host); port 80: bare names too.
    expect(domainsOf("reviews.default.svc.cluster.local:9080")).toContain("reviews:9080");
    expect(domainsOf("reviews.default.svc.cluster.local:9080")).not.toContain("reviews");
    expect(domainsOf("web.default.svc.cluster.local:80")).toEqual(expect.arrayContaining(["web", "web:80", "web.default.svc.cluster.local"]));
    // Every domain is listed once (Envoy rejects duplicates), the catch-all last says why it fails.
    const all = vhosts.flatMap((v) => v.domains as string[]);
    expect(new Set(all).size).toBe(all.length);
    expect(vhosts.at(-1)).toMatchObject({ domains: ["*"], routes: [{ direct_response: { status: 502 } }] });
    // A sidecar in explicit mode never asks for the per-port route configs.
    expect(generate(push, explicitProxy(), TypeUrl.RouteConfiguration, ["9080"])).toEqual([]);
  });

  it("sends inbound traffic to the app's own address", () => {
    const inbound = json(push, explicitProxy(), "Cluster").find((c) => c.name === "inbound|9080||")!;
    expect(inbound).toMatchObject({ type: "STATIC", load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.11.0.6", port_value: 9080 } } } }] }] } });
    const listener = byName.get("127.10.0.6_9080")!;
    const chains = listener.filter_chains as JsonObject[];
    expect(chains.length).toBeGreaterThan(0);
    for (const c of chains) expect((c.filter_chain_match as JsonObject | undefined)?.destination_port).toBeUndefined();
    expect(JSON.stringify(listener)).toContain("inbound|9080||");
    expect(JSON.stringify(listener.listener_filters ?? [])).not.toContain("original_dst");
  });

  it("binds a gateway's listeners to its own address instead of 0.0.0.0", () => {
    const gw = smallPush(`${HTTP80}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec: { hosts: ["*"], gateways: [gw], http: [{ route: [{ destination: { host: web } }] }] }
`);
    const router = proxyOf({ type: "router", ip: "127.0.0.1", pod: "ingress", namespace: "default", labels: { istio: "ingressgateway" }, extra: { INTERCEPTION_MODE: "NONE" } });
    const names = json(gw, router, "Listener").map((l) => [l.name, (l.address as { socket_address: { address: string } }).socket_address.address]);
    expect(names).toEqual([["127.0.0.1_80", "127.0.0.1"]]); // no ingress Service here to map 80 to a target port
  });
});
