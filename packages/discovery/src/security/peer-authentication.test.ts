import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { authzDumpListener } from "../test-util/istio-dump.js";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { modeForPort, peerAuthenticationFor } from "./peer-authentication.js";

const pa = (ns: string, name: string, spec: string): string => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
`;

const virtualInbound = (push: ReturnType<typeof smallPush>, proxy = productpageProxy()): JsonObject => json(push, proxy, "Listener").find((l) => l.name === "virtualInbound")!;
const chains = (l: JsonObject): JsonObject[] => l.filter_chains as JsonObject[];
const mongoProxy = () => proxyOf({ ip: "10.1.0.5", pod: "mongo-0", namespace: "default", labels: { app: "mongo" } });

describe("PeerAuthentication precedence", () => {
  const w = { namespace: "default", labels: { app: "productpage", version: "v1" } };

  it("defaults to PERMISSIVE; mesh < namespace < workload; UNSET inherits", () => {
    expect(peerAuthenticationFor(smallPush(), w).mode).toBe("PERMISSIVE");
    const mesh = pa("istio-system", "default", "{ mtls: { mode: STRICT } }");
    expect(peerAuthenticationFor(smallPush(mesh), w).mode).toBe("STRICT");
    const ns = mesh + pa("default", "default", "{ mtls: { mode: DISABLE } }");
    expect(peerAuthenticationFor(smallPush(ns), w).mode).toBe("DISABLE");
    const wl = ns + pa("default", "pp", "{ selector: { matchLabels: { app: productpage } }, mtls: { mode: PERMISSIVE } }");
    expect(peerAuthenticationFor(smallPush(wl), w).mode).toBe("PERMISSIVE");
    const unset = ns + pa("default", "pp", "{ selector: { matchLabels: { app: productpage } }, mtls: { mode: UNSET } }");
    expect(peerAuthenticationFor(smallPush(unset), w).mode).toBe("DISABLE");
    // A workload policy for someone else changes nothing here.
    const other = mesh + pa("default", "rv", "{ selector: { matchLabels: { app: reviews } }, mtls: { mode: DISABLE } }");
    expect(peerAuthenticationFor(smallPush(other), w).mode).toBe("STRICT");
    // As istiod: a selector in the root namespace applies nowhere; an empty selector is no selector.
    const rootSel = mesh + pa("istio-system", "sel", "{ selector: { matchLabels: { app: productpage } }, mtls: { mode: DISABLE } }");
    expect(peerAuthenticationFor(smallPush(rootSel), w).mode).toBe("STRICT");
    const empty = mesh + pa("default", "empty", "{ selector: { matchLabels: {} }, mtls: { mode: DISABLE } }");
    expect(peerAuthenticationFor(smallPush(empty), w).mode).toBe("DISABLE");
  });

  it("portLevelMtls overrides one workload port; its UNSET inherits the workload's mode", () => {
    const push = smallPush(pa("istio-system", "default", "{ mtls: { mode: STRICT } }") + pa("default", "pp", `{ selector: { matchLabels: { app: productpage } }, portLevelMtls: { "9080": { mode: DISABLE }, "9090": { mode: UNSET } } }`));
    const r = peerAuthenticationFor(push, w);
    expect([r.mode, modeForPort(r, 9080), modeForPort(r, 9090), modeForPort(r, 1)]).toEqual(["STRICT", "DISABLE", "STRICT", "STRICT"]);
  });

  it("reports portLevelMtls on a policy without a selector and ignores it", () => {
    const push = smallPush(pa("default", "default", `{ mtls: { mode: STRICT }, portLevelMtls: { "9080": { mode: DISABLE } } }`));
    expect(push.errors).toEqual([expect.objectContaining({ object: "PeerAuthentication default/default", field: "spec.portLevelMtls" })]);
    expect(modeForPort(peerAuthenticationFor(push, w), 9080)).toBe("STRICT");
  });
});

describe("virtualInbound chains per mTLS mode", () => {
  const istio = authzDumpListener("virtualInbound");
  const istioChains = chains(istio);
  const istioPort80 = istioChains.filter((c) => c.name === "0.0.0.0_80");

  it("PERMISSIVE (the default): a port gets Istio's mTLS and plaintext chains, with Istio's DownstreamTlsContext", () => {
    const ours = chains(virtualInbound(smallPush())).filter((c) => c.name === "0.0.0.0_9080");
    const portTo9080 = (m: JsonObject): JsonObject => ({ ...m, destination_port: 9080 });
    expect(ours.map((c) => c.filter_chain_match)).toEqual(istioPort80.map((c) => portTo9080(c.filter_chain_match as JsonObject)));
    expect(ours[0]!.transport_socket).toEqual(istioPort80[0]!.transport_socket);
    expect(ours[1]!.transport_socket).toBeUndefined();
  });

  it("PERMISSIVE passthrough chains match Istio's (HTTP by istio-http ALPNs or http_inspector, TCP mTLS, plaintext, app TLS)", () => {
    const names = ["virtualInbound-catchall-http", "virtualInbound"];
    const pick = (list: JsonObject[]) => list.filter((c) => names.includes(String(c.name))).map((c) => [c.name, c.filter_chain_match, c.transport_socket !== undefined]);
    expect(pick(chains(virtualInbound(smallPush())))).toEqual(pick(istioChains));
    // Both TLS passthrough chains carry Istio's contexts (h2/http1.1 for HTTP, istio-peer-exchange first for TCP).
    const tls = chains(virtualInbound(smallPush())).filter((c) => names.includes(String(c.name)) && c.transport_socket);
    expect(tls.map((c) => c.transport_socket)).toEqual(istioChains.filter((c) => names.includes(String(c.name)) && c.transport_socket).map((c) => c.transport_socket));
  });

  it("listens with tls_inspector and http_inspector beside original_dst", () => {
    const filters = (virtualInbound(smallPush()).listener_filters as JsonObject[]).map((f) => f.name);
    expect(filters).toEqual(["envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"]);
  });

  it("STRICT: TLS-only chains with a required client certificate; no chain takes plaintext, so it is closed", () => {
    const l = virtualInbound(smallPush(pa("default", "default", "{ mtls: { mode: STRICT } }")));
    const secured = chains(l).filter((c) => c.name !== "virtualInbound-blackhole");
    // istiod's inboundStrict*Options: ports and the TCP passthrough take any TLS, the HTTP passthrough Istio's HTTP ALPNs.
    expect(secured.map((c) => [c.name, c.filter_chain_match])).toEqual([
      ["0.0.0.0_9080", { destination_port: 9080, transport_protocol: "tls" }],
      ["virtualInbound-catchall-http", { prefix_ranges: [{ address_prefix: "0.0.0.0", prefix_len: 0 }], transport_protocol: "tls", application_protocols: ["istio-http/1.0", "istio-http/1.1", "istio-h2"] }],
      ["virtualInbound", { prefix_ranges: [{ address_prefix: "0.0.0.0", prefix_len: 0 }], transport_protocol: "tls" }],
    ]);
    for (const c of secured) {
      expect(((c.transport_socket as JsonObject).typed_config as JsonObject).require_client_certificate).toBe(true);
    }
    expect(JSON.stringify(l)).not.toContain("raw_buffer");
  });

  it("DISABLE: one plaintext chain per port, no TLS anywhere", () => {
    const l = virtualInbound(smallPush(pa("default", "default", "{ mtls: { mode: DISABLE } }")));
    expect(chains(l).filter((c) => c.name === "0.0.0.0_9080").map((c) => c.filter_chain_match)).toEqual([{ destination_port: 9080, transport_protocol: "raw_buffer" }]);
    expect(chains(l).filter((c) => c.name !== "virtualInbound-blackhole").map((c) => (c.filter_chain_match as JsonObject).transport_protocol)).toEqual(["raw_buffer", "raw_buffer", "raw_buffer"]);
    expect(JSON.stringify(chains(l))).not.toContain("transport_socket");
  });

  it("a port-level STRICT under a PERMISSIVE namespace closes only that port to plaintext", () => {
    const push = smallPush(pa("default", "pp", `{ selector: { matchLabels: { app: productpage } }, portLevelMtls: { "9080": { mode: STRICT } } }`));
    const l = virtualInbound(push);
    expect(chains(l).filter((c) => c.name === "0.0.0.0_9080").map((c) => c.filter_chain_match)).toEqual([{ destination_port: 9080, transport_protocol: "tls" }]);
    expect(chains(l).filter((c) => c.name === "virtualInbound").length).toBe(3);
  });

  it("TCP ports under PERMISSIVE get Istio's TCP ALPNs, plaintext, and pass the app's own TLS through", () => {
    const l = virtualInbound(smallPush(), mongoProxy());
    const port = chains(l).filter((c) => c.name === "0.0.0.0_27017");
    expect(port.map((c) => [c.filter_chain_match, c.transport_socket !== undefined])).toEqual([
      [{ destination_port: 27017, transport_protocol: "tls", application_protocols: ["istio-peer-exchange", "istio"] }, true],
      [{ destination_port: 27017, transport_protocol: "raw_buffer" }, false],
      [{ destination_port: 27017, transport_protocol: "tls" }, false],
    ]);
  });
});
