import { describe, expect, it } from "vitest";
import { snapshotOf } from "../test-util/mesh-fixtures.js";
import { parseDurationMs } from "./duration.js";

const vs = (http: string): string => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
${http}`;

describe("validateDocument()", () => {
  it("accepts every Istio networking version and reads the namespace default", () => {
    for (const v of ["v1", "v1beta1", "v1alpha3"]) {
      const s = snapshotOf(`apiVersion: networking.istio.io/${v}\nkind: DestinationRule\nmetadata: { name: r }\nspec: { host: reviews }\n`);
      expect(s.errors).toEqual([]);
      expect(s.objects[0].metadata.namespace).toBe("default");
    }
  });

  it("rejects unknown kinds, naming the kind, apiVersion and what Weft reads", () => {
    const s = snapshotOf("apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w, namespace: ns }\n", "dir/widgets.yaml");
    expect(s.objects).toEqual([]);
    expect(s.errors).toHaveLength(1);
    expect(s.errors[0]).toMatchObject({ origin: "dir/widgets.yaml", object: "Widget ns/w", field: "kind" });
    expect(s.errors[0].reason).toMatch(/^unknown kind Widget in apiVersion example.com\/v1; Weft reads .*VirtualService/);
  });

  it("rejects a known kind in the wrong group", () => {
    const s = snapshotOf("apiVersion: networking.istio.io/v1\nkind: Service\nmetadata: { name: w }\n");
    expect(s.errors[0].reason).toMatch(/kind Service is not served in apiVersion networking.istio.io\/v1/);
  });

  it("reports weights that do not add up to 100 with the field path", () => {
    const s = snapshotOf(
      vs(`  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 70
    - destination: { host: reviews, subset: v2 }
      weight: 20`),
      "vs.yaml",
    );
    expect(s.objects).toEqual([]);
    expect(s.errors).toEqual([{ origin: "vs.yaml", object: "VirtualService default/reviews", field: "spec.http[0].route", reason: "destination weights add up to 90, they must add up to 100" }]);
  });

  it("reports mirror with mirrors, a mirrors entry without a destination, and a bad mirrors percentage", () => {
    const s = snapshotOf(
      vs(`  - mirror: { host: reviews, subset: v2 }
    mirrors:
    - percentage: { value: 10 }
    - destination: { host: reviews, subset: v3 }
      percentage: { value: 150 }
    route:
    - destination: { host: reviews, subset: v1 }`),
    );
    expect(s.errors.map((e) => e.field)).toEqual(["spec.http[0].mirrors", "spec.http[0].mirrors[0].destination", "spec.http[0].mirrors[1].percentage.value"]);
    expect(s.errors[0].reason).toMatch(/use one of mirror and mirrors/);
  });

  it("reports a negative timeout", () => {
    const s = snapshotOf(vs(`  - timeout: -1s\n    route:\n    - destination: { host: reviews }`));
    expect(s.errors).toMatchObject([{ field: "spec.http[0].timeout", reason: expect.stringMatching(/negative/) }]);
  });

  it("reports a regex RE2 cannot compile", () => {
    const s = snapshotOf(vs(`  - match:\n    - uri: { regex: "(?<=a)b" }\n    route:\n    - destination: { host: reviews }`));
    expect(s.errors).toMatchObject([{ field: "spec.http[0].match[0].uri.regex", reason: expect.stringMatching(/RE2/) }]);
  });

  it("reports bad ports, fault percentages, retries and redirect+route together", () => {
    const s = snapshotOf(
      vs(`  - route:
    - destination: { host: reviews, port: { number: 70000 } }
    fault:
      abort: { httpStatus: 700, percentage: { value: 150 } }
    retries: { attempts: 3, retryOn: "5xx,bogus" }
    redirect: { uri: /x }`),
    );
    const fields = s.errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(["spec.http[0].route[0].destination.port.number", "spec.http[0].fault.abort.httpStatus", "spec.http[0].fault.abort.percentage.value", "spec.http[0].retries.retryOn", "spec.http[0]"]),
    );
  });

  it("checks DestinationRule subsets and policies", () => {
    const s = snapshotOf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r, namespace: default }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: { simple: FASTEST }
    outlierDetection: { interval: 0s, maxEjectionPercent: 120 }
  subsets:
  - name: v1
  - name: v1
`);
    expect(s.errors.map((e) => e.field)).toEqual(["spec.trafficPolicy.loadBalancer.simple", "spec.trafficPolicy.outlierDetection.interval", "spec.trafficPolicy.outlierDetection.maxEjectionPercent", "spec.subsets[1].name"]);
  });

  it("checks Service ports and Sidecar egress hosts", () => {
    const s = snapshotOf(`apiVersion: v1
kind: Service
metadata: { name: a }
spec:
  ports: [{ port: 0, name: http }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default }
spec:
  egress: [{ hosts: ["reviews.default.svc.cluster.local"] }]
  outboundTrafficPolicy: { mode: DENY }
`);
    expect(s.errors.map((e) => `${e.origin} ${e.field}`)).toEqual(["test.yaml (document 1) spec.ports[0].port", "test.yaml (document 2) spec.egress[0].hosts[0]", "test.yaml (document 2) spec.outboundTrafficPolicy.mode"]);
  });

  it("unrolls List documents", () => {
    const s = snapshotOf(`apiVersion: v1
kind: List
items:
- { apiVersion: v1, kind: ServiceAccount, metadata: { name: a } }
- { apiVersion: v1, kind: ServiceAccount, metadata: { name: b } }
`);
    expect(s.objects.map((o) => o.metadata.name)).toEqual(["a", "b"]);
    expect(s.objects[1].origin).toBe("test.yaml items[1]");
  });
});

describe("parseDurationMs()", () => {
  it.each([
    ["5s", 5000],
    ["100ms", 100],
    ["1.5s", 1500],
    ["1m30s", 90000],
    ["0s", 0],
  ])("parses %s", (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it("rejects negative durations, missing units and numbers", () => {
    expect(() => parseDurationMs("-1s")).toThrow(/negative/);
    expect(() => parseDurationMs("5")).toThrow(/does not parse/);
    expect(() => parseDurationMs(5)).toThrow(/with a unit/);
  });
});
