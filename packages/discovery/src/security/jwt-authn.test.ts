import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { allResources, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";

const JWKS = '{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"k1"}]}';
const ra = (ns: string, name: string, spec: string): string => `---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
`;
const ap = (spec: string): string => `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: jwt, namespace: default }
spec: ${spec}
`;
// A mesh service serving the JWKS, so jwksUri resolves to an outbound cluster Istio would create.
const AUTH_SERVICE = `---
apiVersion: v1
kind: Service
metadata: { name: auth, namespace: default }
spec: { clusterIP: 10.96.0.20, selector: { app: auth }, ports: [{ name: http, port: 8080 }] }
`;

type Push = ReturnType<typeof smallPush>;
const httpFilters = (push: Push, proxy = productpageProxy()): JsonObject[] => {
  const l = json(push, proxy, "Listener").find((x) => x.name === "virtualInbound")!;
  const chain = (l.filter_chains as JsonObject[]).find((c) => c.name === "0.0.0.0_9080")!;
  const hcm = (chain.filters as JsonObject[]).find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typed_config as JsonObject;
  // Without the telemetry filters around them (telemetry-filters.test.ts has those): jwt_authn, rbac..., fault, cors, router.
  return (hcm.http_filters as JsonObject[]).filter((f) => f.name !== "istio.metadata_exchange" && f.name !== "istio.stats");
};

describe("RequestAuthentication → envoy.filters.http.jwt_authn", () => {
  const push = smallPush(
    AUTH_SERVICE +
      ra("default", "inline", `{ selector: { matchLabels: { app: productpage } }, jwtRules: [{ issuer: "issuer-1", audiences: [pp], jwks: '${JWKS}', fromHeaders: [{ name: x-jwt, prefix: "Bearer " }], fromParams: [token], forwardOriginalToken: true, outputClaimToHeaders: [{ header: x-sub, claim: sub }] }] }`) +
      ra("istio-system", "mesh", `{ jwtRules: [{ issuer: "https://auth.default.svc.cluster.local", jwksUri: "http://auth.default.svc.cluster.local:8080/jwks" }] }`),
  );

  it("has a provider per jwtRule (origins-<i>), issuer-keyed payload metadata, and lets requests without a token through to authorization", () => {
    const jwt = httpFilters(push)[0]!;
    expect(jwt.name).toBe("envoy.filters.http.jwt_authn");
    expect(jwt.typed_config).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
      providers: {
        "origins-0": {
          issuer: "issuer-1",
          audiences: ["pp"],
          local_jwks: { inline_string: JWKS },
          forward: true,
          from_headers: [{ name: "x-jwt", value_prefix: "Bearer " }],
          from_params: ["token"],
          payload_in_metadata: "issuer-1",
          claim_to_headers: [{ header_name: "x-sub", claim_name: "sub" }],
        },
        "origins-1": {
          issuer: "https://auth.default.svc.cluster.local",
          remote_jwks: { http_uri: { uri: "http://auth.default.svc.cluster.local:8080/jwks", cluster: "outbound|8080||auth.default.svc.cluster.local", timeout: "5s" }, cache_duration: "1200s" },
          payload_in_metadata: "https://auth.default.svc.cluster.local",
        },
      },
      rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { provider_name: "origins-1" }, { allow_missing: {} }] } } }],
      bypass_cors_preflight: true,
    });
    // The remote JWKS cluster is one the proxy has.
    expect(json(push, productpageProxy(), "Cluster").map((c) => c.name)).toContain("outbound|8080||auth.default.svc.cluster.local");
    expect(push.errors).toEqual([]);
  });

  it("applies only to selected workloads (plus mesh-wide ones)", () => {
    const reviews = proxyOf({ ip: "10.1.0.1", pod: "reviews-v1", namespace: "default", labels: { app: "reviews", version: "v1" } });
    const l = json(push, reviews, "Listener").find((x) => x.name === "virtualInbound")!;
    const jwt = JSON.stringify(l);
    expect(jwt).toContain("origins-0");
    expect(jwt).not.toContain("issuer-1");
  });

  it("turns requestPrincipals and request.auth claims into matches on the verified payload", () => {
    const withPolicy = smallPush(
      ra("default", "inline", `{ jwtRules: [{ issuer: "issuer-1", jwks: '${JWKS}' }, { issuer: "https://other", jwks: '${JWKS}' }] }`) +
        ap(`{ rules: [{ from: [{ source: { requestPrincipals: ["issuer-1/alice", "*/bob"] } }], when: [{ key: "request.auth.audiences", values: ["pp"] }] }] }`),
    );
    const rbac = httpFilters(withPolicy)[1]!;
    const policy = (((rbac.typed_config as JsonObject).rules as JsonObject).policies as JsonObject)["ns[default]-policy[jwt]-rule[0]"] as JsonObject;
    const md = (iss: string, path: string[], value: JsonObject) => ({ metadata: { filter: "envoy.filters.http.jwt_authn", path: [iss, ...path].map((key) => ({ key })), value } });
    const aud = (iss: string) => md(iss, ["aud"], { or_match: { value_matchers: [{ string_match: { exact: "pp" } }, { list_match: { one_of: { string_match: { exact: "pp" } } } }] } });
    expect(policy.principals).toEqual([
      {
        and_ids: {
          ids: [
            { or_ids: { ids: [md("issuer-1", ["sub"], { string_match: { exact: "alice" } }), { or_ids: { ids: [md("issuer-1", ["sub"], { string_match: { exact: "bob" } }), md("https://other", ["sub"], { string_match: { exact: "bob" } })] } }] } },
            { or_ids: { ids: [{ or_ids: { ids: [aud("issuer-1"), aud("https://other")] } }] } },
          ],
        },
      },
    ]);
  });

  it("a request principal from an issuer nobody configured never matches", () => {
    const noJwt = smallPush(ap(`{ rules: [{ from: [{ source: { requestPrincipals: ["issuer-x/alice"] } }] }] }`));
    const rbac = httpFilters(noJwt)[0]!;
    expect(JSON.stringify(rbac)).toContain('{"or_ids":{"ids":[{"not_id":{"any":true}}]}}');
  });

  it("an issuer without keys gets an empty key set (its tokens are rejected) and is reported", () => {
    const noKeys = smallPush(ra("default", "nokeys", `{ jwtRules: [{ issuer: "issuer-2" }, { issuer: "issuer-3", jwks: "not json" }] }`));
    const providers = (httpFilters(noKeys)[0]!.typed_config as JsonObject).providers as Record<string, JsonObject>;
    expect(providers["origins-0"]!.local_jwks).toEqual({ inline_string: '{"keys":[]}' });
    expect(noKeys.errors.map((e) => [e.field, e.reason.includes("rejected (fail closed)")])).toEqual([
      ["spec.jwtRules[0]", true],
      ["spec.jwtRules[1].jwks", true],
    ]);
  });

  it("reports a jwksUri whose host has no service (no cluster to fetch keys through)", () => {
    const external = smallPush(ra("default", "ext", `{ jwtRules: [{ issuer: "issuer-9", jwksUri: "https://keys.example.com/jwks.json" }] }`));
    expect(external.errors).toEqual([expect.objectContaining({ field: "spec.jwtRules[0].jwksUri", reason: expect.stringContaining("no cluster outbound|443||keys.example.com") })]);
  });

  it("every generated resource passes validation", () => {
    expect(validationIssues(allResources(push, productpageProxy()))).toEqual([]);
  });
});
