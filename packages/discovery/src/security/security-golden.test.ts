// Golden xDS for a sidecar with every security feature in use (testdata/security:
// bookinfo's productpage + reviews with STRICT mTLS, a port-level PERMISSIVE
// override, DENY/ALLOW/AUDIT AuthorizationPolicies, a RequestAuthentication and
// a DestinationRule with TLS origination), to review as a whole against Istio's
// shapes. Regenerate with UPDATE_GOLDEN=1 and read the diff.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { allResources, fullXdsJson, proxyOf, snapshotOf, TESTDATA, validationIssues } from "../test-util/mesh-fixtures.js";
import { SMALL_MESH } from "../test-util/small-mesh.js";

const GOLDEN = join(TESTDATA, "golden", "security-productpage.json");
const POLICIES = readFileSync(join(TESTDATA, "security", "policies.yaml"), "utf8");

describe("golden xDS with mesh security", () => {
  const snapshot = snapshotOf(`${SMALL_MESH}---\n${POLICIES}`, "security/policies.yaml");
  const push = createPushContextBuilder({ trustDomainAliases: ["old.example"] }).build(snapshot);
  const proxy = proxyOf({ ip: "10.1.0.6", pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" } });

  it("has no config errors and validates", () => {
    expect(push.errors).toEqual([]);
    expect(validationIssues(allResources(push, proxy))).toEqual([]);
  });

  it("productpage sidecar", () => {
    const text = `${JSON.stringify(fullXdsJson(push, proxy), null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(GOLDEN)) {
      if (process.env.UPDATE_GOLDEN !== "1" && process.env.CI) throw new Error("golden security-productpage.json is missing; run with UPDATE_GOLDEN=1");
      mkdirSync(join(TESTDATA, "golden"), { recursive: true });
      writeFileSync(GOLDEN, text);
    }
    expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
  });
});
