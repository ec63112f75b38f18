import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { authzDumpListener } from "../test-util/istio-dump.js";
import { allResources, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { generate } from "../test-util/mesh-fixtures.js";

const ap = (ns: string, name: string, spec: string): string => `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
`;
const GOOGLE_JWT = `---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec: { jwtRules: [{ issuer: "https://accounts.google.com", jwksUri: "https://www.googleapis.com/oauth2/v3/certs" }] }
`;

type Push = ReturnType<typeof smallPush>;
const mongoProxy = () => proxyOf({ ip: "10.1.0.5", pod: "mongo-0", namespace: "default", labels: { app: "mongo" } });
const inboundChain = (push: Push, name: string, proxy = productpageProxy(), transport = "raw_buffer"): JsonObject => {
  const l = json(push, proxy, "Listener").find((x) => x.name === "virtualInbound")!;
  return (l.filter_chains as JsonObject[]).find((c) => c.name === name && (c.filter_chain_match as JsonObject).transport_protocol === transport)!;
};
const hcmFilters = (chain: JsonObject): JsonObject[] => (((chain.filters as JsonObject[]).find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typed_config as JsonObject).http_filters as JsonObject[]);
const rbacRules = (push: Push, proxy = productpageProxy()): JsonObject[] =>
  hcmFilters(inboundChain(push, "0.0.0.0_9080", proxy))
    .filter((f) => f.name === "envoy.filters.http.rbac")
    .map((f) => ((f.typed_config as JsonObject).rules ?? {}) as JsonObject);
const tcpRules = (push: Push): JsonObject[] =>
  (inboundChain(push, "0.0.0.0_27017", mongoProxy()).filters as JsonObject[])
    .filter((f) => f.name === "envoy.filters.network.rbac")
    .map((f) => f.typed_config as JsonObject);

// The AuthorizationPolicy behind sidecar-configdump-authz.yaml's ns[default]-policy[httpbin]-rule[0].
const DUMP_POLICY = `{ selector: { matchLabels: { app: productpage } }, rules: [{
  from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }, { source: { namespaces: ["test"] } }],
  to: [{ operation: { methods: ["GET"], paths: ["/info*"] } }, { operation: { methods: ["POST"], paths: ["/data"] } }],
  when: [{ key: "request.auth.claims[iss]", values: ["https://accounts.google.com"] }] }] }`;

describe("AuthorizationPolicy → envoy.filters.http.rbac", () => {
  it("compiles Istio's sample policy to the dump's permissions, principals as Envoy's authenticated + jwt_authn metadata", () => {
    const push = smallPush(ap("default", "httpbin", DUMP_POLICY) + GOOGLE_JWT);
    const istio = ((((authzDumpListener("virtualInbound").filter_chains as JsonObject[]).find((c) => c.name === "0.0.0.0_80")!.filters as JsonObject[])[2]!.typed_config as JsonObject).http_filters as JsonObject[])[1]!;
    const istioPolicy = (((istio.typed_config as JsonObject).rules as JsonObject).policies as JsonObject)["ns[default]-policy[httpbin]-rule[0]"] as JsonObject;
    const [rules] = rbacRules(push);
    const ours = (rules!.policies as JsonObject)["ns[default]-policy[httpbin]-rule[0]"] as JsonObject;
    expect(ours.permissions).toEqual(istioPolicy.permissions);
    const claim = { or_ids: { ids: [{ metadata: { filter: "envoy.filters.http.jwt_authn", path: [{ key: "https://accounts.google.com" }, { key: "iss" }], value: { or_match: { value_matchers: [{ string_match: { exact: "https://accounts.google.com" } }, { list_match: { one_of: { string_match: { exact: "https://accounts.google.com" } } } }] } } } }] } };
    expect(ours.principals).toEqual([
      { and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/default/sa/sleep" } } }] } }, claim] } },
      { and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: ".*/ns/test/.*" } } } }] } }, claim] } },
    ]);
    expect(rules!.action).toBeUndefined(); // ALLOW
  });

  it("puts AUDIT, then DENY, then ALLOW, after jwt_authn and before the sidecar's own filters", () => {
    const push = smallPush(
      ap("default", "allow", `{ rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/reviews"] } }] }] }`) +
        ap("default", "deny", `{ action: DENY, rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }`) +
        ap("default", "audit", `{ action: AUDIT, rules: [{}] }`) +
        GOOGLE_JWT,
    );
    const filters = hcmFilters(inboundChain(push, "0.0.0.0_9080"));
    // istiod's order: peer metadata first (so RBAC can see the peer), authn, authz, ..., istio.stats before the router.
    expect(filters.map((f) => f.name)).toEqual([
      "istio.metadata_exchange",
      "envoy.filters.http.jwt_authn",
      "envoy.filters.http.rbac",
      "envoy.filters.http.rbac",
      "envoy.filters.http.rbac",
      "envoy.filters.http.fault",
      "envoy.filters.http.cors",
      "istio.stats",
      "envoy.filters.http.router",
    ]);
    expect(rbacRules(push).map((r) => [r.action ?? "ALLOW", Object.keys(r.policies as JsonObject)])).toEqual([
      ["LOG", ["ns[default]-policy[audit]-rule[0]"]],
      ["DENY", ["ns[default]-policy[deny]-rule[0]"]],
      ["ALLOW", ["ns[default]-policy[allow]-rule[0]"]],
    ]);
    // The same filters on the passthrough HTTP chains, over mTLS and plaintext alike.
    expect(hcmFilters(inboundChain(push, "virtualInbound-catchall-http", productpageProxy(), "tls")).filter((f) => f.name === "envoy.filters.http.rbac").length).toBe(3);
  });

  it("an ALLOW policy without rules allows nothing; `rules: [{}]` allows everything; no policy, no filter", () => {
    expect(rbacRules(smallPush(ap("default", "nothing", "{}")))).toEqual([
      { policies: { "ns[default]-policy[nothing]-rule[0]": { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } } },
    ]);
    expect(rbacRules(smallPush(ap("default", "all", "{ rules: [{}] }")))).toEqual([
      { policies: { "ns[default]-policy[all]-rule[0]": { permissions: [{ and_rules: { rules: [{ any: true }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] } } },
    ]);
    expect(rbacRules(smallPush())).toEqual([]);
  });

  it("scopes by selector, namespace and root namespace", () => {
    const push = smallPush(
      ap("default", "reviews-only", `{ selector: { matchLabels: { app: reviews } }, rules: [{}] }`) +
        ap("other", "elsewhere", `{ rules: [{}] }`) +
        ap("istio-system", "mesh", `{ action: DENY, rules: [{ from: [{ source: { notNamespaces: ["default"] } }] }] }`),
    );
    const names = rbacRules(push).flatMap((r) => Object.keys(r.policies as JsonObject));
    expect(names).toEqual(["ns[istio-system]-policy[mesh]-rule[0]"]);
  });

  it("matches operations as Istio does: hosts case-insensitively with optional port and trailing dot, methods, paths exact/prefix/suffix/presence, ports", () => {
    const push = smallPush(ap("default", "ops", `{ action: DENY, rules: [{ to: [{ operation: { hosts: ["Example.com", "*.internal"], notMethods: ["GET"], paths: ["/exact", "/pre*", "*.php", "*"], ports: ["9080"] } }] }] }`));
    const p = ((rbacRules(push)[0]!.policies as JsonObject)["ns[default]-policy[ops]-rule[0]"] as JsonObject).permissions as JsonObject[];
    expect(p).toEqual([
      {
        and_rules: {
          rules: [
            { or_rules: { rules: [{ header: { name: ":authority", string_match: { safe_regex: { regex: "(?i)Example\\.com\\.?(:[0-9]+)?" } } } }, { header: { name: ":authority", string_match: { safe_regex: { regex: "(?i).*\\.internal\\.?(:[0-9]+)?" } } } }] } },
            { not_rule: { or_rules: { rules: [{ header: { name: ":method", exact_match: "GET" } }] } } },
            { or_rules: { rules: [{ url_path: { path: { exact: "/exact" } } }, { url_path: { path: { prefix: "/pre" } } }, { url_path: { path: { suffix: ".php" } } }, { url_path: { path: { safe_regex: { regex: ".+" } } } }] } },
            { or_rules: { rules: [{ destination_port: 9080 }] } },
          ],
        },
      },
    ]);
  });

  it("matches sources: ipBlocks on the peer address, remoteIpBlocks on the client address, when conditions on headers and principals", () => {
    const push = smallPush(
      ap("default", "src", `{ rules: [{ from: [{ source: { ipBlocks: ["10.1.0.0/16"], remoteIpBlocks: ["192.0.2.7"] } }], when: [{ key: "request.headers[X-Token]", values: ["abc*"] }, { key: "source.principal", notValues: ["*/sa/evil"] }] }] }`),
    );
    const pr = ((rbacRules(push)[0]!.policies as JsonObject)["ns[default]-policy[src]-rule[0]"] as JsonObject).principals as JsonObject[];
    expect(pr).toEqual([
      {
        and_ids: {
          ids: [
            { or_ids: { ids: [{ remote_ip: { address_prefix: "192.0.2.7", prefix_len: 32 } }] } },
            { or_ids: { ids: [{ direct_remote_ip: { address_prefix: "10.1.0.0", prefix_len: 16 } }] } },
            { or_ids: { ids: [{ header: { name: "x-token", prefix_match: "abc" } }] } },
            { not_id: { or_ids: { ids: [{ authenticated: { principal_name: { suffix: "/sa/evil" } } }] } } },
          ],
        },
      },
    ]);
  });

  it("accepts principals of trust domain aliases", () => {
    const push = smallPush(ap("default", "td", `{ rules: [{ from: [{ source: { principals: ["old.example/ns/default/sa/sleep"] } }] }] }`), { trustDomainAliases: ["old.example"] });
    const pr = ((rbacRules(push)[0]!.policies as JsonObject)["ns[default]-policy[td]-rule[0]"] as JsonObject).principals as JsonObject[];
    expect(JSON.stringify(pr)).toContain('"exact":"spiffe://cluster.local/ns/default/sa/sleep"');
    expect(JSON.stringify(pr)).toContain('"exact":"spiffe://old.example/ns/default/sa/sleep"');
  });
});

describe("AuthorizationPolicy on TCP ports → envoy.filters.network.rbac", () => {
  it("an ALLOW rule naming HTTP fields never matches TCP (the policy then denies all); a ports-only rule applies", () => {
    const push = smallPush(
      ap("default", "http", `{ selector: { matchLabels: { app: mongo } }, rules: [{ to: [{ operation: { paths: ["/x"] } }] }] }`) +
        ap("default", "port", `{ selector: { matchLabels: { app: mongo } }, rules: [{ to: [{ operation: { ports: ["27017"] } }] }] }`),
    );
    const [f] = tcpRules(push);
    expect(f!.stat_prefix).toBe("tcp.");
    expect(Object.keys((f!.rules as JsonObject).policies as JsonObject)).toEqual(["ns[default]-policy[port]-rule[0]"]);
    const onlyHttp = smallPush(ap("default", "http", `{ selector: { matchLabels: { app: mongo } }, rules: [{ to: [{ operation: { paths: ["/x"] } }] }] }`));
    // ALLOW with nothing in it: deny all (an empty `rules`, as the authz dump's passthrough chains show).
    expect(tcpRules(onlyHttp)[0]!.rules).toEqual({});
  });

  it("a DENY rule naming HTTP fields denies the whole TCP connection (fail closed, as istiod)", () => {
    const push = smallPush(ap("default", "deny", `{ selector: { matchLabels: { app: mongo } }, action: DENY, rules: [{ to: [{ operation: { methods: ["POST"], paths: ["/admin"] } }] }] }`));
    expect(tcpRules(push)[0]!.rules).toEqual({
      action: "DENY",
      policies: { "ns[default]-policy[deny]-rule[0]": { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ any: true }] } }, { or_rules: { rules: [{ any: true }] } }] } }], principals: [{ and_ids: { ids: [{ any: true }] } }] } },
    });
    expect(push.errors).toEqual([]); // HTTP fields on a TCP port are expected, not a config error
  });
});

describe("broken AuthorizationPolicies fail closed and are reported", () => {
  it("an ALLOW rule with a bad value is dropped (allows nothing) and named by field", () => {
    const push = smallPush(ap("default", "bad", `{ rules: [{ from: [{ source: { ipBlocks: ["10.0.0.300/8"] } }] }] }`));
    expect(rbacRules(push)).toEqual([{}]); // ALLOW filter with no policy: deny all
    expect(push.errors).toEqual([expect.objectContaining({ origin: "test.yaml (document 13)", object: "AuthorizationPolicy default/bad", field: "spec.rules[0].from[0].source.ipBlocks[0]", reason: expect.stringContaining("allows nothing") })]);
  });

  it("a DENY rule with a bad value widens it, an unknown condition key makes it deny everything", () => {
    const push = smallPush(
      ap("default", "cidr", `{ action: DENY, rules: [{ from: [{ source: { ipBlocks: ["nonsense", "10.9.0.0/16"] } }] }] }`) +
        ap("default", "key", `{ action: DENY, rules: [{ when: [{ key: "request.foo", values: ["x"] }] }] }`),
    );
    const policies = rbacRules(push)[0]!.policies as JsonObject;
    expect((policies["ns[default]-policy[cidr]-rule[0]"] as JsonObject).principals).toEqual([{ and_ids: { ids: [{ or_ids: { ids: [{ any: true }, { direct_remote_ip: { address_prefix: "10.9.0.0", prefix_len: 16 } }] } }] } }]);
    expect(policies["ns[default]-policy[key]-rule[0]"]).toEqual({ permissions: [{ any: true }], principals: [{ any: true }] });
    expect(push.errors.map((e) => e.field)).toEqual(["spec.rules[0].from[0].source.ipBlocks[0]", "spec.rules[0].when[0].key"]);
  });

  it("a malformed from/to entry fails the ALLOW rule instead of reading as 'anything'", () => {
    const push = smallPush(ap("default", "shape", `{ rules: [{ to: [{ operation: "GET" }] }, { from: [{ source: { principals: "sleep" } }] }] }`));
    expect(rbacRules(push)).toEqual([{}]);
    expect(push.errors.map((e) => e.field)).toEqual(["spec.rules[0].to[0].operation", "spec.rules[1].from[0].source.principals"]);
  });

  it("a policy whose action cannot be read is kept, reported and enforced as DENY", () => {
    const push = smallPush(ap("default", "typo", `{ action: DENNY, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }`));
    expect(rbacRules(push).map((r) => [r.action, Object.keys(r.policies as JsonObject)])).toEqual([["DENY", ["ns[default]-policy[typo]-rule[0]"]]]);
    expect(push.errors).toEqual([expect.objectContaining({ object: "AuthorizationPolicy default/typo", field: "spec.action", reason: expect.stringContaining("enforced as DENY") })]);
  });

  it("CUSTOM without an extension provider is enforced as DENY of its rules and reported", () => {
    const push = smallPush(ap("default", "ext", `{ action: CUSTOM, provider: { name: ext-authz }, rules: [{ to: [{ operation: { paths: ["/ext*"] } }] }] }`));
    expect(rbacRules(push).map((r) => [r.action, Object.keys(r.policies as JsonObject)])).toEqual([["DENY", ["ns[default]-policy[ext]-rule[0]"]]]);
    expect(push.errors).toEqual([expect.objectContaining({ field: "spec.provider", reason: expect.stringContaining("enforced as DENY") })]);
  });

  it("every generated resource passes validation", () => {
    const push = smallPush(ap("default", "httpbin", DUMP_POLICY) + GOOGLE_JWT + ap("default", "deny", `{ action: DENY, rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }`));
    expect(validationIssues(allResources(push, productpageProxy()))).toEqual([]);
    expect(validationIssues(generate(push, mongoProxy(), TypeUrl.Listener))).toEqual([]);
  });
});
