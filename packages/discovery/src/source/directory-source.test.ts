import { mkdtempSync, rmSync, writeFileSync, mkdirSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigChange, ConfigSource } from "../contracts.js";
import { createDirectorySource } from "./directory-source.js";

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  clusterIP: 10.96.0.5
  selector: { app: reviews }
  ports: [{ name: http, port: 9080 }]
`;
const SLICE = (ip: string): string => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: reviews-abc, namespace: default, labels: { kubernetes.io/service-name: reviews } }
addressType: IPv4
ports: [{ name: http, port: 9080 }]
endpoints: [{ addresses: ["${ip}"] }]
`;
const VS = (weights: [number, number]): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${weights[0]} }
    - { destination: { host: reviews, subset: v2 }, weight: ${weights[1]} }
`;

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("createDirectorySource()", () => {
  let dir: string;
  let source: ConfigSource | undefined;
  const changes: ConfigChange[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "weft-source-"));
    changes.length = 0;
  });
  afterEach(async () => {
    await source?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<ConfigSource> {
    source = createDirectorySource({ dir, logger: pino({ level: "silent" }), pollMs: 200, coalesceMs: 20 });
    source.onChange((c) => changes.push(c));
    await source.start();
    return source;
  }

  const names = (s: ConfigSource): string[] => s.snapshot().objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

  it("reads yaml, yml and json files in nested directories", async () => {
    mkdirSync(join(dir, "nested"));
    writeFileSync(join(dir, "svc.yaml"), SERVICE);
    writeFileSync(join(dir, "nested", "slice.yml"), SLICE("10.0.0.1"));
    writeFileSync(join(dir, "sa.json"), JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "bookinfo" } }));
    writeFileSync(join(dir, "notes.txt"), "not config");
    const s = await start();
    expect(names(s)).toEqual(["EndpointSlice/reviews-abc", "Service/reviews", "ServiceAccount/bookinfo"]);
    expect(s.snapshot().errors).toEqual([]);
  });

  it("keeps a broken file's last good objects and reports the syntax error", async () => {
    writeFileSync(join(dir, "vs.yaml"), VS([80, 20]));
    const s = await start();
    expect(names(s)).toEqual(["VirtualService/reviews"]);
    writeFileSync(join(dir, "vs.yaml"), "apiVersion: v1\nkind: [unclosed\n");
    await until(() => s.snapshot().errors.length > 0, "the syntax error");
    expect(names(s)).toEqual(["VirtualService/reviews"]);
    expect(s.snapshot().errors[0]).toMatchObject({ origin: "vs.yaml", reason: expect.stringMatching(/YAML syntax error at line \d+.*keeping the last good objects of this file \(1\)/) });
  });

  it("keeps the last good version of an object an edit made invalid, and reports the edit", async () => {
    writeFileSync(join(dir, "svc.yaml"), SERVICE);
    writeFileSync(join(dir, "vs.yaml"), VS([80, 20]));
    const s = await start();
    writeFileSync(join(dir, "vs.yaml"), VS([80, 30]));
    await until(() => s.snapshot().errors.length > 0, "the weight error");
    expect(names(s)).toEqual(["Service/reviews", "VirtualService/reviews"]);
    expect(JSON.stringify(s.snapshot().objects)).toContain('"weight":20');
    expect(s.snapshot().errors).toEqual([
      { origin: "vs.yaml", object: "VirtualService default/reviews", field: "spec.http[0].route", reason: "destination weights add up to 110, they must add up to 100; keeping the last good version of this object" },
    ]);
    writeFileSync(join(dir, "vs.yaml"), VS([70, 30]));
    await until(() => s.snapshot().errors.length === 0, "the fixed weights");
    expect(JSON.stringify(s.snapshot().objects)).toContain('"weight":70');
  });

  it("skips a new invalid object, reports it, and keeps serving the rest", async () => {
    writeFileSync(join(dir, "svc.yaml"), SERVICE);
    const s = await start();
    writeFileSync(join(dir, "vs.yaml"), VS([80, 30]));
    await until(() => s.snapshot().errors.length > 0, "the weight error");
    expect(names(s)).toEqual(["Service/reviews"]);
    expect(s.snapshot().errors).toEqual([{ origin: "vs.yaml", object: "VirtualService default/reviews", field: "spec.http[0].route", reason: "destination weights add up to 110, they must add up to 100" }]);
  });

  it("sees add, change and delete without a restart, and flags EDS-only changes", async () => {
    writeFileSync(join(dir, "svc.yaml"), SERVICE);
    const s = await start();
    writeFileSync(join(dir, "slice.yaml"), SLICE("10.0.0.1"));
    await until(() => names(s).includes("EndpointSlice/reviews-abc"), "the added slice");
    const added = changes.at(-1)!;
    expect(added.endpointsOnly).toBe(true);
    expect([...added.endpointServices]).toEqual(["reviews.default.svc.cluster.local"]);
    writeFileSync(join(dir, "slice.yaml"), SLICE("10.0.0.2"));
    await until(() => JSON.stringify(s.snapshot().objects).includes("10.0.0.2"), "the changed slice");
    writeFileSync(join(dir, "svc.yaml"), SERVICE.replace("10.96.0.5", "10.96.0.6"));
    await until(() => changes.some((c) => c.kinds.has("Service")), "the service change");
    expect(changes.find((c) => c.kinds.has("Service"))!.endpointsOnly).toBe(false);
    unlinkSync(join(dir, "slice.yaml"));
    await until(() => !names(s).includes("EndpointSlice/reviews-abc"), "the deleted slice");
  });

  it("reports a duplicate object in a second file and uses the first", async () => {
    writeFileSync(join(dir, "a.yaml"), SERVICE);
    writeFileSync(join(dir, "b.yaml"), SERVICE);
    const s = await start();
    expect(s.snapshot().objects).toHaveLength(1);
    expect(s.snapshot().errors).toMatchObject([{ origin: "b.yaml", field: "metadata.name", reason: "duplicate of the object in a.yaml; the first one is used" }]);
  });

  it("fails to start on a missing directory, naming it", async () => {
    source = createDirectorySource({ dir: join(dir, "nope"), logger: pino({ level: "silent" }) });
    await expect(source.start()).rejects.toThrow(/config directory .*nope cannot be read/);
  });
});
