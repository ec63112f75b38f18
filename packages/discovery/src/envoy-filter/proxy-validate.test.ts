// Patched config loads in the real weft-proxy: the productpage sidecar's
// listeners and clusters with EnvoyFilters applied (an HCM MERGE, a CLUSTER
// MERGE, Istio's local rate limit) go into Istio's bootstrap
// (envoy-rev0.json) and `weft-proxy --mode validate` must accept them.
import type { JsonObject } from "@bufbuild/protobuf";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { envoyFilter, ISTIO_LOCAL_RATE_LIMIT } from "../test-util/envoy-filter-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";

const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bundle/weft-proxy.mjs", import.meta.url));
const REV0 = fileURLToPath(new URL("../../../../../shared/testdata/envoy-rev0.json", import.meta.url));

const MERGES = envoyFilter(
  "merges",
  "default",
  `configPatches:
  - applyTo: NETWORK_FILTER
    match: { context: SIDECAR_INBOUND, listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } } }
    patch:
      operation: MERGE
      value: { typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, common_http_protocol_options: { idle_timeout: 30s } } }
  - applyTo: CLUSTER
    match: { context: SIDECAR_OUTBOUND, cluster: { service: reviews.default.svc.cluster.local } }
    patch: { operation: MERGE, value: { connect_timeout: 2s } }`,
);

const dir = mkdtempSync(join(tmpdir(), "weft-ef-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(name: string, yaml: string): { status: number | null; out: string } {
  const push = smallPush(yaml);
  const proxy = productpageProxy();
  const boot = JSON.parse(readFileSync(REV0, "utf8")) as { static_resources: { clusters: JsonObject[]; listeners: JsonObject[] } };
  boot.static_resources.clusters.push(...json(push, proxy, "Cluster"));
  boot.static_resources.listeners.push(...json(push, proxy, "Listener"));
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(boot));
  const r = spawnSync(process.execPath, [PROXY_BIN, "-c", file, "--mode", "validate", "-l", "error"], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!existsSync(PROXY_BIN))("EnvoyFilter-patched config in weft-proxy --mode validate", () => {
  it("HCM and CLUSTER merges load", () => {
    const r = validate("merges", MERGES);
    expect(r.out).toContain("OK");
    expect(r.status).toBe(0);
  }, 90_000);

  it("Istio's local rate limit loads", () => {
    const r = validate("ratelimit", ISTIO_LOCAL_RATE_LIMIT);
    expect(r.out).toContain("OK");
    expect(r.status).toBe(0);
  }, 90_000);
});
