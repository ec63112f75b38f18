import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVOY_REV0_PATH } from "../test-util/testdata.js";
import { BootstrapError, loadBootstrap } from "./load-bootstrap.js";

const dir = mkdtempSync(join(tmpdir(), "weft-bootstrap-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const LISTENER_70000 = `
static_resources:
  listeners:
  - name: bad
    address: { socket_address: { address: 127.0.0.1, port_value: 70000 } }
    filter_chains: [{ filters: [] }]
`;

describe("loadBootstrap()", () => {
  it("loads envoy-rev0.json as pilot-agent wrote it", () => {
    const { bootstrap, unknownFields } = loadBootstrap({ configPath: ENVOY_REV0_PATH });
    expect(unknownFields).toEqual([]);
    expect(bootstrap.node?.id).toMatch(/^sidecar~10\.244\.1\.10~productpage/);
    expect(bootstrap.staticResources?.clusters.map((c) => c.name)).toEqual(["prometheus_stats", "agent", "sds-grpc", "xds-grpc", "zipkin"]);
    expect(bootstrap.dynamicResources?.adsConfig?.grpcServices[0]?.targetSpecifier).toMatchObject({ case: "envoyGrpc", value: { clusterName: "xds-grpc" } });
  });

  it("fails on a port of 70000, naming the field", () => {
    const path = write("port.yaml", LISTENER_70000);
    expect(() => loadBootstrap({ configPath: path })).toThrow(BootstrapError);
    try {
      loadBootstrap({ configPath: path });
    } catch (err) {
      expect((err as BootstrapError).fieldPath).toBe("static_resources.listeners[0].address.socket_address.port_value");
      expect((err as Error).message).toMatch(/70000/);
    }
  });

  it("merges --config-yaml over the file (scalars replaced, lists appended)", () => {
    const { bootstrap } = loadBootstrap({
      configPath: ENVOY_REV0_PATH,
      configYaml: "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 19000 } } }\nstatic_resources: { clusters: [{ name: extra, connect_timeout: 1s }] }",
    });
    const addr = bootstrap.admin?.address?.address;
    expect(addr?.case === "socketAddress" && addr.value.portSpecifier.value).toBe(19000);
    expect(bootstrap.admin?.accessLogPath).toBe("/dev/null");
    expect(bootstrap.staticResources?.clusters.map((c) => c.name).at(-1)).toBe("extra");
    expect(bootstrap.staticResources?.clusters).toHaveLength(6);
  });

  it("overrides the node with --service-node / --service-cluster / --service-zone", () => {
    const { bootstrap } = loadBootstrap({ configPath: ENVOY_REV0_PATH, serviceNode: "n1", serviceCluster: "c1", serviceZone: "z1" });
    expect(bootstrap.node).toMatchObject({ id: "n1", cluster: "c1", locality: { zone: "z1" } });
    expect(bootstrap.node?.metadata?.["ISTIO_VERSION"]).toBeDefined();
  });

  it("rejects unknown fields naming them, or skips them with --allow-unknown-static-fields", () => {
    const path = write("unknown.yaml", "admin: { bogus_field: 1 }\nnode: { id: x, whatever: 2 }\n");
    expect(() => loadBootstrap({ configPath: path })).toThrow(/unknown fields admin\.bogus_field, node\.whatever/);
    const { unknownFields } = loadBootstrap({ configPath: path, allowUnknownStaticFields: true });
    expect(unknownFields).toEqual([`${path}: admin.bogus_field`, `${path}: node.whatever`]);
  });

  it("names an unreadable file and an unparsable one", () => {
    expect(() => loadBootstrap({ configPath: join(dir, "missing.json") })).toThrow(/cannot read config '.*missing\.json'/);
    const bad = write("bad.json", "{ not json");
    expect(() => loadBootstrap({ configPath: bad })).toThrow(/bad\.json: cannot parse/);
  });
});
