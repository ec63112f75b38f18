import type { JsonObject } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { TypeUrl } from "@weft/xds-api";
import { authzDumpListener } from "../test-util/istio-dump.js";

const cluster = (push: ReturnType<typeof smallPush>, name: string): JsonObject => {
  const c = json(push, productpageProxy(), "Cluster").find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
};
const tlsOf = (socket: JsonObject): JsonObject => socket.typed_config as JsonObject;

/** The tlsMode-istio / tlsMode-disabled matches of productpage's v1 cluster in Istio's own dump. */
function istioDumpMatches(): JsonObject[] {
  const dump = JSON.parse(readFileSync(new URL("../../../../../shared/testdata/istio/http-config-dump.json", import.meta.url), "utf8")) as { configs: JsonObject[] };
  for (const section of dump.configs) for (const c of (section.dynamic_active_clusters ?? []) as JsonObject[]) {
    const cl = c.cluster as JsonObject;
    if (cl.transport_socket_matches) return cl.transport_socket_matches as JsonObject[];
  }
  throw new Error("no transport_socket_matches in http-config-dump.json");
}

describe("auto mTLS (meshConfig.enableAutoMtls, default on)", () => {
  const push = smallPush();

  it("gives outbound clusters Istio's transport_socket_matches: ISTIO_MUTUAL for tlsMode=istio endpoints, raw_buffer otherwise", () => {
    // Istio's dump, with its SNI and SANs swapped for this mesh's reviews v1: every other byte must match.
    const expected = istioDumpMatches();
    const istio = structuredClone(expected[0]!) as { transport_socket: { typed_config: JsonObject & { common_tls_context: { combined_validation_context: { default_validation_context: JsonObject } } } } };
    istio.transport_socket.typed_config.sni = "outbound_.9080_.v1_.reviews.default.svc.cluster.local";
    istio.transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_subject_alt_names = [{ exact: "spiffe://cluster.local/ns/default/sa/reviews" }];
    expect(cluster(push, "outbound|9080|v1|reviews.default.svc.cluster.local").transport_socket_matches).toEqual([istio, expected[1]]);
    expect(cluster(push, "outbound|9080|v1|reviews.default.svc.cluster.local").transport_socket).toBeUndefined();
  });

  it("asks for h2 after Istio's ALPNs on HTTP/2 clusters", () => {
    const m = (cluster(push, "outbound|7070||ratings.default.svc.cluster.local").transport_socket_matches as JsonObject[])[0]!;
    expect((tlsOf(m.transport_socket as JsonObject).common_tls_context as JsonObject).alpn_protocols).toEqual(["istio-peer-exchange", "istio", "h2"]);
  });

  it("marks endpoints of pods with a sidecar tlsMode=istio in EDS metadata, and not pods with sidecar.istio.io/inject: false", () => {
    const mixed = smallPush(`apiVersion: v1
kind: Pod
metadata: { name: reviews-legacy, namespace: default, labels: { app: reviews, version: v1 }, annotations: { sidecar.istio.io/inject: "false" } }
spec: { serviceAccountName: legacy }
status: { podIP: 10.1.0.9, conditions: [{ type: Ready, status: "True" }] }
`);
    const cla = json(mixed, productpageProxy(), "ClusterLoadAssignment", ["outbound|9080|v1|reviews.default.svc.cluster.local"])[0]!;
    const eps = (cla.endpoints as JsonObject[]).flatMap((l) => l.lb_endpoints as JsonObject[]);
    const meta = Object.fromEntries(eps.map((e) => [((e.endpoint as JsonObject).address as { socket_address: { address: string } }).socket_address.address, (e.metadata as JsonObject).filter_metadata as JsonObject]));
    expect(meta["10.1.0.1"]!["envoy.transport_socket_match"]).toEqual({ tlsMode: "istio" });
    expect(meta["10.1.0.9"]!["envoy.transport_socket_match"]).toBeUndefined();
    expect(meta["10.1.0.9"]!.istio).toBeDefined();
  });

  it("lists the SPIFFE ids of every service account behind the service, in the trust domain and its aliases", () => {
    const push2 = smallPush(`apiVersion: v1
kind: Pod
metadata: { name: reviews-v4, namespace: default, labels: { app: reviews, version: v4 } }
spec: { serviceAccountName: bookinfo-reviews }
status: { podIP: 10.1.0.8, conditions: [{ type: Ready, status: "True" }] }
`, { trustDomainAliases: ["old.example"] });
    const m = (cluster(push2, "outbound|9080||reviews.default.svc.cluster.local").transport_socket_matches as JsonObject[])[0]!;
    const ctx = tlsOf(m.transport_socket as JsonObject).common_tls_context as { combined_validation_context: { default_validation_context: JsonObject } };
    expect(ctx.combined_validation_context.default_validation_context.match_subject_alt_names).toEqual([
      { exact: "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" },
      { exact: "spiffe://cluster.local/ns/default/sa/reviews" },
      { exact: "spiffe://old.example/ns/default/sa/bookinfo-reviews" },
      { exact: "spiffe://old.example/ns/default/sa/reviews" },
    ]);
  });

  it("sends plaintext when the destination namespace's PeerAuthentication is DISABLE, or auto mTLS is off", () => {
    const disabled = smallPush(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: DISABLE } }
`);
    expect(cluster(disabled, "outbound|9080||reviews.default.svc.cluster.local").transport_socket_matches).toBeUndefined();
    const off = smallPush("", { enableAutoMtls: false });
    const c = cluster(off, "outbound|9080||reviews.default.svc.cluster.local");
    expect(c.transport_socket_matches).toBeUndefined();
    expect(c.transport_socket).toBeUndefined();
  });

  it("outbound HTTP listeners carry Istio's istio.alpn filter (istio-http/* ALPNs towards mTLS endpoints)", () => {
    const dump = authzDumpListener("0.0.0.0_9080");
    const dumpHcm = ((dump.filter_chains as JsonObject[]).find((c) => JSON.stringify(c).includes("http_connection_manager"))!.filters as JsonObject[]).find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typed_config as JsonObject;
    const istioAlpn = (dumpHcm.http_filters as JsonObject[]).find((f) => f.name === "istio.alpn");
    const l = json(push, productpageProxy(), "Listener").find((x) => x.name === "0.0.0.0_9080")!;
    const hcm = ((l.filter_chains as JsonObject[])[0]!.filters as JsonObject[])[0]!.typed_config as JsonObject;
    // Right after the peer metadata filter, as istiod orders them.
    expect((hcm.http_filters as JsonObject[])[1]).toEqual(istioAlpn);
  });

  it("leaves proxyless gRPC clusters plaintext", () => {
    const grpc = proxyOf({ ip: "10.1.0.20", pod: "client", namespace: "default", generator: "grpc" });
    const list = generate(push, grpc, TypeUrl.Cluster);
    expect(list.length).toBeGreaterThan(0);
    expect(JSON.stringify(json(push, grpc, "Cluster"))).not.toContain("transport_socket");
  });
});

describe("DestinationRule tls overrides auto mTLS", () => {
  const push = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec:
  host: mongo
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    portLevelSettings:
    - port: { number: 27017 }
      tls: { mode: SIMPLE, caCertificates: /etc/certs/ca.pem, subjectAltNames: [mongo.example.com], sni: mongo.example.com }
  subsets:
  - name: v1
    labels: { app: mongo }
    trafficPolicy: { tls: { mode: DISABLE } }
  - name: v2
    labels: { app: mongo }
    trafficPolicy: { tls: { mode: MUTUAL, clientCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem } }
  - name: v3
    labels: { app: mongo }
    trafficPolicy: { tls: { mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/default/sa/mongo-v3"] } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: default }
spec:
  host: ratings
  trafficPolicy: { tls: { mode: MUTUAL, credentialName: ratings-client } }
`);

  it("portLevelSettings SIMPLE beats the top-level ISTIO_MUTUAL: CA file, SANs, SNI, no transport_socket_matches", () => {
    const c = cluster(push, "outbound|27017||mongo.default.svc.cluster.local");
    expect(c.transport_socket_matches).toBeUndefined();
    expect(tlsOf(c.transport_socket as JsonObject)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      common_tls_context: { validation_context: { match_subject_alt_names: [{ exact: "mongo.example.com" }], trusted_ca: { filename: "/etc/certs/ca.pem" } } },
      sni: "mongo.example.com",
    });
  });

  it("a subset's DISABLE means plaintext, MUTUAL presents the client certificate files", () => {
    const v1 = cluster(push, "outbound|27017|v1|mongo.default.svc.cluster.local");
    expect(v1.transport_socket).toBeUndefined();
    expect(v1.transport_socket_matches).toBeUndefined();
    const v2 = tlsOf(cluster(push, "outbound|27017|v2|mongo.default.svc.cluster.local").transport_socket as JsonObject);
    expect(v2.common_tls_context).toEqual({
      tls_certificates: [{ certificate_chain: { filename: "/etc/certs/cert.pem" }, private_key: { filename: "/etc/certs/key.pem" } }],
      validation_context: { trusted_ca: { filename: "/etc/certs/ca.pem" } },
    });
  });

  it("explicit ISTIO_MUTUAL is always mTLS with Istio's SNI and the rule's SANs", () => {
    const v3 = tlsOf(cluster(push, "outbound|27017|v3|mongo.default.svc.cluster.local").transport_socket as JsonObject) as JsonObject & { common_tls_context: { combined_validation_context: { default_validation_context: JsonObject; validation_context_sds_secret_config: JsonObject } } };
    expect(v3.sni).toBe("outbound_.27017_.v3_.mongo.default.svc.cluster.local");
    expect(v3.common_tls_context.combined_validation_context.default_validation_context).toEqual({ match_subject_alt_names: [{ exact: "spiffe://cluster.local/ns/default/sa/mongo-v3" }] });
    expect(v3.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe("ROOTCA");
  });

  it("credentialName reads the certificate and its CA over ADS as kubernetes://<name>[-cacert], h2 ALPN on an HTTP/2 port", () => {
    const c = tlsOf(cluster(push, "outbound|7070||ratings.default.svc.cluster.local").transport_socket as JsonObject);
    expect(c.common_tls_context).toEqual({
      tls_certificate_sds_secret_configs: [{ name: "kubernetes://ratings-client", sds_config: { ads: {}, resource_api_version: "V3" } }],
      combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: "kubernetes://ratings-client-cacert", sds_config: { ads: {}, resource_api_version: "V3" } } },
      alpn_protocols: ["h2"],
    });
  });

  it("every generated cluster passes validation", () => {
    expect(validationIssues(generate(push, productpageProxy(), TypeUrl.Cluster))).toEqual([]);
    expect(push.errors).toEqual([]);
  });

  it("reports MUTUAL without a client certificate", () => {
    const bad = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec: { host: mongo, trafficPolicy: { tls: { mode: MUTUAL } } }
`);
    expect(bad.errors).toEqual([expect.objectContaining({ object: "DestinationRule default/mongo", field: "spec.trafficPolicy.tls", reason: expect.stringContaining("MUTUAL needs clientCertificate and privateKey") })]);
  });
});
