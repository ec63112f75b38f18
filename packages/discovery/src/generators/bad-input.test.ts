// Bad input end to end: directory → source → push context → RDS. Each broken
// edit is reported with file, object and field, and the route config that was
// serving before keeps serving.
import type { JsonObject } from "@bufbuild/protobuf";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigSource } from "../contracts.js";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { createDirectorySource } from "../source/directory-source.js";
import { proxyOf, TESTDATA } from "../test-util/mesh-fixtures.js";
import { vhostRoutes } from "../test-util/small-mesh.js";

const REVIEWS_VS = (route: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
${route}`;
const GOOD = REVIEWS_VS(`  - timeout: 2s
    route:
    - { destination: { host: reviews, subset: v1 }, weight: 80 }
    - { destination: { host: reviews, subset: v3 }, weight: 20 }`);

describe("bad input keeps the last good config serving", () => {
  let dir: string;
  let source: ConfigSource;
  const builder = createPushContextBuilder();
  const productpage = proxyOf({ ip: "10.244.1.40", pod: "productpage-v1-5c8b9d6f7-x1q2z", namespace: "default", labels: { app: "productpage", version: "v1" } });
  const reviewsRoute = (): JsonObject => vhostRoutes(builder.build(source.snapshot()), productpage, "9080", "reviews.default.svc.cluster.local:9080")[0];
  const errors = () => builder.build(source.snapshot()).errors;

  async function edit(file: string, text: string, expectError: (e: ReturnType<typeof errors>) => boolean): Promise<void> {
    writeFileSync(join(dir, file), text);
    const deadline = Date.now() + 5000;
    while (!expectError(errors())) {
      if (Date.now() > deadline) throw new Error(`no such error after editing ${file}: ${JSON.stringify(errors())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-bad-input-"));
    cpSync(join(TESTDATA, "bookinfo"), dir, { recursive: true });
    rmSync(join(dir, "virtual-service-reviews-test-v2.yaml"));
    writeFileSync(join(dir, "reviews-vs.yaml"), GOOD);
    source = createDirectorySource({ dir, logger: pino({ level: "silent" }), pollMs: 200, coalesceMs: 20 });
    await source.start();
  });
  afterAll(async () => {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const servesTheGoodSplit = (): void => {
    const route = reviewsRoute().route as JsonObject;
    expect(route.timeout).toBe("2s");
    expect((route.weighted_clusters as { clusters: Array<{ name: string; weight: number }> }).clusters.map((c) => c.weight)).toEqual([80, 20]);
  };

  it("starts from the good config", () => {
    expect(errors()).toEqual([]);
    servesTheGoodSplit();
  });

  it.each([
    ["malformed YAML", "  - route: [ { destination: { host: reviews }", undefined, /YAML syntax error/],
    ["weights that do not add up to 100", "  - route:\n    - { destination: { host: reviews, subset: v1 }, weight: 80 }\n    - { destination: { host: reviews, subset: v3 }, weight: 30 }", "spec.http[0].route", /add up to 110/],
    ["a negative timeout", "  - timeout: -5s\n    route: [{ destination: { host: reviews, subset: v1 } }]", "spec.http[0].timeout", /negative/],
  ])("%s", async (_what, route, field, reason) => {
    await edit("reviews-vs.yaml", REVIEWS_VS(route), (e) => e.some((x) => reason.test(x.reason)));
    const error = errors().find((x) => reason.test(x.reason))!;
    expect(error.origin).toBe("reviews-vs.yaml");
    if (field) expect(error).toMatchObject({ object: "VirtualService default/reviews", field });
    servesTheGoodSplit();
    await edit("reviews-vs.yaml", GOOD, (e) => e.length === 0);
  });

  it("an unknown kind in a new file", async () => {
    await edit("widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w }\n", (e) => e.length > 0);
    expect(errors()[0]).toMatchObject({ origin: "widget.yaml", object: "Widget w", field: "kind", reason: expect.stringMatching(/^unknown kind Widget in apiVersion example.com\/v1; Weft reads/) });
    servesTheGoodSplit();
    rmSync(join(dir, "widget.yaml"));
    for (let i = 0; i < 250 && errors().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(errors()).toEqual([]);
  });

  it("a route to an unknown subset", async () => {
    await edit("reviews-vs.yaml", REVIEWS_VS("  - route:\n    - { destination: { host: reviews, subset: v1 }, weight: 80 }\n    - { destination: { host: reviews, subset: v9 }, weight: 20 }"), (e) => e.length > 0);
    expect(errors()).toMatchObject([{ origin: "reviews-vs.yaml", object: "VirtualService default/reviews", field: "spec.http[0].route[1].destination.subset", reason: expect.stringMatching(/subset "v9" is not defined/) }]);
    // As istiod: the route stays, the v9 share fails (503) until the subset exists; v1 keeps its 80 %.
    const clusters = ((reviewsRoute().route as JsonObject).weighted_clusters as { clusters: Array<{ name: string }> }).clusters.map((c) => c.name);
    expect(clusters).toEqual(["outbound|9080|v1|reviews.default.svc.cluster.local", "outbound|9080|v9|reviews.default.svc.cluster.local"]);
  });
});
