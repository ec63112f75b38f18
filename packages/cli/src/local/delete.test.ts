import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { localApply } from "./apply.js";
import { kindKey, localDelete, targetsOfArgs, targetsOfFiles } from "./delete.js";
import { loadManifests } from "./manifests.js";
import type { LocalState } from "./state.js";

const policy = (name: string, ns = "default") => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {}\n`;
const vs = (name: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [${name}]\n`;
const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: httpbin}\nspec: {template: {spec: {}}}\n";

describe("localDelete()", () => {
  let dir: string;
  let state: LocalState;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const names = () => loadManifests([state.configDir]).map((m) => `${m.kind}/${m.metadata.namespace ?? "default"}/${m.metadata.name}`).sort();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "weftctl-delete-"));
    state = { configDir: join(dir, "config") } as LocalState;
    mkdirSync(state.configDir);
    writeFileSync(join(state.configDir, "10-manifests.yaml"), [deployment, vs("reviews"), vs("ratings")].join("---\n"));
  });

  it("removes what a file names, wherever it was defined, and keeps the rest", () => {
    localApply(state, [file("p.yaml", policy("allow-nothing") + "---\n" + policy("details-viewer"))]);
    const out = localDelete(state, targetsOfFiles([file("del.yaml", policy("allow-nothing") + "---\n" + vs("reviews"))]));
    expect(out).toEqual({ deleted: ["AuthorizationPolicy/default/allow-nothing", "VirtualService/default/reviews"], notFound: [] });
    expect(names()).toEqual(["AuthorizationPolicy/default/details-viewer", "Deployment/default/httpbin", "VirtualService/default/ratings"]);
  });

  it("removes the applied file once it holds nothing, so discovery sees no empty document", () => {
    localApply(state, [file("p.yaml", policy("allow-nothing"))]);
    expect(existsSync(join(state.configDir, "50-applied.yaml"))).toBe(true);
    localDelete(state, targetsOfArgs(["authorizationpolicy", "allow-nothing"]));
    expect(existsSync(join(state.configDir, "50-applied.yaml"))).toBe(false);
  });

  it.each(["AuthorizationPolicy", "authorizationpolicy", "authorizationpolicies", "authorizationpolicies.security.istio.io", "AuthorizationPolicy.security.istio.io"])("takes the kind as kubectl does: %s", (kind) => {
    localApply(state, [file("p.yaml", policy("allow-nothing"))]);
    expect(localDelete(state, targetsOfArgs([kind, "allow-nothing"])).deleted).toEqual(["AuthorizationPolicy/default/allow-nothing"]);
  });

  it("knows kubectl's short names and the KIND/NAME form", () => {
    expect(kindKey("vs")).toBe("virtualservice");
    expect(kindKey("serviceentries")).toBe("serviceentry");
    expect(kindKey("services")).toBe("service");
    for (const k of ["Ingress", "ingresses", "ingresses.networking.k8s.io"]) expect(kindKey(k), k).toBe("ingress");
    expect(kindKey("gatewayclasses")).toBe("gatewayclass");
    expect(kindKey("Secret")).toBe("secret");
    expect(localDelete(state, targetsOfArgs(["vs/reviews", "virtualservice/ratings"])).deleted).toEqual(["VirtualService/default/reviews", "VirtualService/default/ratings"]);
  });

  it("matches the namespace: -n picks which object of that name goes", () => {
    localApply(state, [file("p.yaml", policy("deny", "default") + "---\n" + policy("deny", "foo"))]);
    expect(localDelete(state, targetsOfArgs(["authorizationpolicy", "deny"], "foo")).deleted).toEqual(["AuthorizationPolicy/foo/deny"]);
    expect(names()).toContain("AuthorizationPolicy/default/deny");
  });

  it("deletes what it finds and reports the rest, as kubectl", () => {
    expect(localDelete(state, targetsOfArgs(["vs", "reviews", "nope"]))).toEqual({ deleted: ["VirtualService/default/reviews"], notFound: ["vs/default/nope"] });
    expect(names()).not.toContain("VirtualService/default/reviews");
  });

  it("refuses workloads, however they are spelled, and deletes nothing then", () => {
    for (const targets of [targetsOfArgs(["deployments", "httpbin"]), targetsOfFiles([file("d.yaml", deployment + "---\n" + vs("reviews"))])]) {
      expect(() => localDelete(state, targets)).toThrow(/cannot delete workloads/);
    }
    expect(names()).toContain("VirtualService/default/reviews");
  });

  it("says what it expected of a malformed argument", () => {
    expect(() => targetsOfArgs([])).toThrow(/nothing to delete/);
    expect(() => targetsOfArgs(["vs"])).toThrow(/which vs\? no name given/);
    expect(() => targetsOfArgs(["vs/a/b"])).toThrow(/vs\/a\/b: expected KIND\/NAME/);
  });
});
