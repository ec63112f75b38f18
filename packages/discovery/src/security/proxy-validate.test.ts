// The security config loads in the real weft-proxy: the generated listeners
// and clusters of sidecars and a gateway, with every security feature in use,
// are added to Istio's own bootstrap (envoy-rev0.json: ADS, the sds-grpc
// cluster they point at) and `weft-proxy --mode validate` must accept them.
import type { JsonObject } from "@bufbuild/protobuf";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { ProxyInfo } from "../contracts.js";
import { allResources, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";

const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bundle/weft-proxy.mjs", import.meta.url));
const REV0 = fileURLToPath(new URL("../../../../../shared/testdata/envoy-rev0.json", import.meta.url));
const JWKS = '{"keys":[{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","kid":"k1"}]}';

const SECURITY = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: mongo, namespace: default }
spec: { selector: { matchLabels: { app: mongo } }, mtls: { mode: PERMISSIVE } }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: istio-system }
spec: { jwtRules: [{ issuer: issuer-1, jwks: '${JWKS}', outputClaimToHeaders: [{ header: x-sub, claim: sub }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec: { action: DENY, rules: [{ to: [{ operation: { paths: ["/admin*"], hosts: ["*.example.com"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: default }
spec:
  rules:
  - from: [{ source: { principals: ["cluster.local/ns/default/sa/reviews"], ipBlocks: ["10.0.0.0/8"] } }]
    to: [{ operation: { methods: [GET], paths: ["/info*", "*"] } }]
    when: [{ key: "request.auth.claims[groups]", values: [admin] }, { key: "request.headers[x-a]", values: ["*"] }, { key: destination.port, values: ["9080"] }, { key: connection.sni, values: ["*.local"] }]
  - from: [{ source: { requestPrincipals: ["issuer-1/*"], notNamespaces: [evil] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: audit, namespace: istio-system }
spec: { action: AUDIT, rules: [{}] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec: { host: mongo, trafficPolicy: { tls: { mode: SIMPLE, sni: mongo.example.com } } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec: { selector: { istio: ingressgateway }, servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }] }
`;

const dir = mkdtempSync(join(tmpdir(), "weft-sec-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(name: string, push: ReturnType<typeof smallPush>, proxy: ProxyInfo, tamper?: (listeners: JsonObject[]) => JsonObject[]): { status: number | null; out: string } {
  const boot = JSON.parse(readFileSync(REV0, "utf8")) as { static_resources: { clusters: JsonObject[]; listeners: JsonObject[] } };
  boot.static_resources.clusters.push(...json(push, proxy, "Cluster"));
  const listeners = json(push, proxy, "Listener");
  boot.static_resources.listeners.push(...(tamper ? tamper(listeners) : listeners));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(boot));
  const r = spawnSync(process.execPath, [PROXY_BIN, "-c", file, "--mode", "validate", "-l", "error"], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!existsSync(PROXY_BIN))("generated security config in weft-proxy --mode validate", () => {
  const push = smallPush(SECURITY);
  const proxies: Array<[string, ProxyInfo]> = [
    ["productpage (STRICT, jwt_authn, rbac DENY/ALLOW/AUDIT)", productpageProxy()],
    ["mongo (PERMISSIVE TCP, network rbac)", proxyOf({ ip: "10.1.0.5", pod: "mongo-0", namespace: "default", labels: { app: "mongo" } })],
    ["ingress gateway (SANITIZE_SET, gateway authz)", proxyOf({ type: "router", ip: "10.1.0.30", pod: "istio-ingressgateway-1", namespace: "istio-system", labels: { istio: "ingressgateway" } })],
  ];

  it("has no config errors and every resource passes the protos' rules", () => {
    expect(push.errors).toEqual([]);
    for (const [, p] of proxies) expect(validationIssues(allResources(push, p))).toEqual([]);
  });

  it.each(proxies)("%s loads", (name, proxy) => {
    const r = validate(name.split(" ")[0]!, push, proxy);
    expect(r.out).toContain("OK");
    expect(r.status).toBe(0);
  }, 90_000);

  it("and the check can fail: an RBAC policy with a broken regex is refused, naming the field", () => {
    const r = validate("tampered", push, productpageProxy(), (ls) => JSON.parse(JSON.stringify(ls).replace('"regex":".+"', '"regex":"(("')) as JsonObject[]);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/rbac|regex|safe_regex/i);
  }, 90_000);
});
