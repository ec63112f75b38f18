import { describe, expect, it } from "vitest";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { diffObjects } from "./diff-objects.js";

const SVC = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ name: http, port: 80 }] }
`;
const pod = (ip: string, labels = "{ app: web }", ready = "True"): string => `apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: ${labels} }
status: { podIP: ${ip}, conditions: [{ type: Ready, status: "${ready}" }] }
`;
const objects = (...docs: string[]) => snapshotOf(docs.join("---\n")).objects;

describe("diffObjects()", () => {
  it("treats a Pod's readiness or IP change as endpoints-only for the services selecting it", () => {
    const c = diffObjects(objects(SVC, pod("10.0.0.1")), objects(SVC, pod("10.0.0.1", undefined, "False")), "cluster.local");
    expect(c).toEqual({ kinds: new Set(["Pod"]), endpointsOnly: true, endpointServices: new Set(["web.shop.svc.cluster.local"]) });
  });

  it("treats a Pod's label change as a full change (it may change which config applies)", () => {
    const c = diffObjects(objects(SVC, pod("10.0.0.1")), objects(SVC, pod("10.0.0.1", "{ app: web, version: v2 }")), "cluster.local");
    expect(c.endpointsOnly).toBe(false);
  });

  it("treats Service changes as full changes, and no change as nothing", () => {
    expect(diffObjects(objects(SVC), objects(SVC.replace("port: 80", "port: 81")), "cluster.local").endpointsOnly).toBe(false);
    expect(diffObjects(objects(SVC), objects(SVC), "cluster.local").kinds.size).toBe(0);
  });

  it("treats a Secret change as incremental (SDS only), naming the Secret, also next to an endpoint change", () => {
    const secret = (v: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: cred, namespace: shop }\nstringData: { note: ${v} }\n`;
    expect(diffObjects(objects(SVC, secret("a")), objects(SVC, secret("b")), "cluster.local")).toEqual({
      kinds: new Set(["Secret"]),
      endpointsOnly: true,
      endpointServices: new Set(),
      secrets: new Set(["shop/cred"]),
    });
    const both = diffObjects(objects(SVC, pod("10.0.0.1"), secret("a")), objects(SVC, pod("10.0.0.1", undefined, "False")), "cluster.local");
    expect([both.endpointsOnly, [...both.endpointServices], [...(both.secrets ?? [])]]).toEqual([true, ["web.shop.svc.cluster.local"], ["shop/cred"]]);
  });
});
