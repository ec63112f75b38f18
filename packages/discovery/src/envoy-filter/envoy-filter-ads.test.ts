// End to end over ADS: the real directory source, push context, generators,
// cache and server; a real ADS client (connect-node gRPC, xds-api's SotW
// state machine, ACKing) as the productpage sidecar. Writing Istio's local
// rate limit EnvoyFilter into the watched directory pushes a listener with the
// filter; a broken edit is reported and the last good one keeps serving;
// deleting the file pushes the unpatched listener back. A proxy the
// EnvoyFilter does not select gets no LDS push at all.
import type { JsonObject } from "@bufbuild/protobuf";
import { toEnvoyJson, TypeUrl, unpackAny, type ClientUpdate } from "@weft/xds-api";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscoveryApp, type DiscoveryApp } from "../app/discovery-app.js";
import { createXdsGenerators } from "../generators/create-generators.js";
import { parseProxy } from "../push-context/parse-proxy.js";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { createDirectorySource } from "../source/directory-source.js";
import { createAdsTestClient, grpcTransport, type AdsTestClient } from "../test-util/ads-test-client.js";
import { hcms, httpFilterNames, ISTIO_LOCAL_RATE_LIMIT } from "../test-util/envoy-filter-fixtures.js";
import { makeNode } from "../test-util/mesh-fixtures.js";
import { SMALL_MESH } from "../test-util/small-mesh.js";

interface Sidecar {
  client: AdsTestClient;
  /** The LDS updates received, each as name → Envoy JSON. */
  lds: Array<Map<string, JsonObject>>;
}

function connect(addr: string, pod: string, ip: string, labels: Record<string, string>): Sidecar {
  const lds: Array<Map<string, JsonObject>> = [];
  const onUpdate = (u: ClientUpdate) => {
    if (u.typeUrl !== TypeUrl.Listener) return;
    lds.push(new Map(u.resources.map((r) => {
      const { schema, message } = unpackAny(r.resource);
      return [r.name, toEnvoyJson(schema, message) as JsonObject];
    })));
  };
  const client = createAdsTestClient({ transport: grpcTransport(addr), node: makeNode({ ip, pod, namespace: "default", labels }), onUpdate });
  client.subscribe(TypeUrl.Listener, "*");
  return { client, lds };
}

const inboundFilters = (update: Map<string, JsonObject>): string[] => httpFilterNames(hcms(update.get("virtualInbound")!)[0]);

describe("EnvoyFilter over ADS", () => {
  let dir: string;
  let app: DiscoveryApp;
  let grpc: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-envoy-filter-"));
    writeFileSync(join(dir, "mesh.yaml"), SMALL_MESH);
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
    app = createDiscoveryApp({
      source: createDirectorySource({ dir, logger, pollMs: 100, coalesceMs: 10 }),
      pushContextBuilder: createPushContextBuilder(),
      generators: createXdsGenerators({ logger }),
      parseProxy,
      logger,
      grpcAddr: "127.0.0.1:0",
      debounce: { quietMs: 20, maxMs: 200 },
    });
    grpc = (await app.start()).grpc;
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pushes the patched listener when the EnvoyFilter appears and the unpatched one when it goes", async () => {
    const productpage = connect(grpc, "productpage-v1", "10.1.0.6", { app: "productpage", version: "v1" });
    const reviews = connect(grpc, "reviews-v1", "10.1.0.1", { app: "reviews", version: "v1" });
    try {
      await productpage.client.next((r) => r.typeUrl === TypeUrl.Listener);
      await reviews.client.next((r) => r.typeUrl === TypeUrl.Listener);
      const original = inboundFilters(productpage.lds[0]);
      expect(original).not.toContain("envoy.filters.http.local_ratelimit");

      writeFileSync(join(dir, "ratelimit.yaml"), ISTIO_LOCAL_RATE_LIMIT);
      await productpage.client.next((r) => r.typeUrl === TypeUrl.Listener, 10_000);
      const patched = productpage.lds.at(-1)!;
      expect(inboundFilters(patched)).toEqual(["envoy.filters.http.local_ratelimit", ...original]);
      const rl = (hcms(patched.get("virtualInbound")!)[0].http_filters as JsonObject[])[0].typed_config as JsonObject;
      expect(rl.token_bucket).toEqual({ max_tokens: 4, tokens_per_fill: 4, fill_interval: "60s" });

      // A broken edit is refused like any other kind's: the last good EnvoyFilter keeps serving, nothing is pushed.
      const pushesBefore = productpage.lds.length;
      writeFileSync(join(dir, "ratelimit.yaml"), ISTIO_LOCAL_RATE_LIMIT.replace("operation: INSERT_BEFORE", "operation: INSERT_SOMEWHERE"));
      const deadline = Date.now() + 5000;
      while (!app.cache.current()?.errors.some((e) => e.object === "EnvoyFilter istio-system/filter-local-ratelimit-svc")) {
        if (Date.now() > deadline) throw new Error("the broken EnvoyFilter was not reported");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(app.cache.current()!.errors.find((e) => e.object === "EnvoyFilter istio-system/filter-local-ratelimit-svc")).toMatchObject({ field: "spec.configPatches[0].patch.operation", reason: expect.stringContaining('"INSERT_SOMEWHERE" is not one of') });
      await new Promise((r) => setTimeout(r, 200));
      expect(productpage.lds).toHaveLength(pushesBefore);

      rmSync(join(dir, "ratelimit.yaml"));
      await productpage.client.next((r) => r.typeUrl === TypeUrl.Listener, 10_000);
      expect(inboundFilters(productpage.lds.at(-1)!)).toEqual(original);
      expect(productpage.lds.at(-1)).toEqual(productpage.lds[0]);

      // reviews is not selected: its listeners never changed, so it was sent nothing new (give a stray push time to arrive).
      await new Promise((r) => setTimeout(r, 300));
      expect(reviews.lds).toHaveLength(1);
    } finally {
      productpage.client.close();
      reviews.client.close();
    }
  });
});
