import { describe, expect, it } from "vitest";
import { BootstrapSchema } from "../gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ConfigDumpSchema } from "../gen/envoy/admin/v3/config_dump_pb.js";
import { ListenerSchema } from "../gen/envoy/config/listener/v3/listener_pb.js";
import { unpackAny } from "../any.js";
import { XdsError } from "../errors.js";
import { readTestdata } from "../test-util/testdata.js";
import { jsonDifferences } from "../test-util/json-equivalence.js";
import { forEachAny } from "../test-util/walk-anys.js";
import { fromEnvoyJson, parseEnvoyText, readEnvoyText, toEnvoyJson, toEnvoyYaml } from "./envoy-json.js";

const CONFIG_DUMPS = ["config-dump-full.json", "http-config-dump.json", "sidecar-configdump-authz.yaml"];

describe("Envoy JSON", () => {
  it("reads pilot-agent's bootstrap and writes it back to equivalent JSON", () => {
    const text = readTestdata("envoy-rev0.json");
    const bootstrap = readEnvoyText(BootstrapSchema, text);
    expect(bootstrap.node?.id).toBe("sidecar~10.244.1.10~productpage-v1-5d9b4c9849-c6rbk.default~default.svc.cluster.local");
    expect(bootstrap.staticResources?.clusters.map((c) => c.name)).toContain("xds-grpc");
    expect(jsonDifferences(BootstrapSchema, JSON.parse(text), toEnvoyJson(BootstrapSchema, bootstrap))).toEqual([]);
  });

  it.each(CONFIG_DUMPS)("decodes every typed_config in %s to its real type", (file) => {
    const dump = readEnvoyText(ConfigDumpSchema, readTestdata("istio", file), { fileName: file });
    const types = new Set<string>();
    forEachAny(ConfigDumpSchema, dump, (any) => void types.add(any.typeUrl.split("/").pop()!));
    expect(dump.configs.length).toBeGreaterThan(0);
    // Each dump holds listeners or routes or clusters whose filters are Anys too.
    expect([...types].some((t) => t.startsWith("envoy.admin.v3."))).toBe(true);
    expect([...types].filter((t) => !t.startsWith("envoy.admin.v3.")).length).toBeGreaterThan(0);
  });

  it("unpacks Istio's own filter configs to typed messages", () => {
    const dump = readEnvoyText(ConfigDumpSchema, readTestdata("istio", "sidecar-configdump-authz.yaml"));
    const seen = new Map<string, unknown>();
    forEachAny(ConfigDumpSchema, dump, (any) => {
      if (!seen.has(any.typeUrl)) seen.set(any.typeUrl, unpackAny(any).message);
    });
    const alpn = seen.get("type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig") as { alpnOverride: Array<{ alpnOverride: string[] }> };
    expect(alpn.alpnOverride[0].alpnOverride).toEqual(["istio-http/1.0", "istio", "http/1.0"]);
    expect(seen.has("type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC")).toBe(true);
  });

  it.each(CONFIG_DUMPS)("writes %s back to equivalent JSON", (file) => {
    const text = readTestdata("istio", file);
    const dump = readEnvoyText(ConfigDumpSchema, text);
    expect(jsonDifferences(ConfigDumpSchema, parseEnvoyText(text), toEnvoyJson(ConfigDumpSchema, dump))).toEqual([]);
  });

  it("rejects an unknown field by name, and skips it when asked", () => {
    const json = { name: "l", address: { socket_address: { address: "0.0.0.0", port_value: 80 } }, colour: "blue" };
    expect(() => fromEnvoyJson(ListenerSchema, json)).toThrow(XdsError);
    expect(() => fromEnvoyJson(ListenerSchema, json)).toThrow(/colour/);
    expect(fromEnvoyJson(ListenerSchema, json, { ignoreUnknownFields: true }).name).toBe("l");
  });

  it("rejects a typed_config of a type nobody knows, naming it", () => {
    const json = { name: "l", listener_filters: [{ name: "x", typed_config: { "@type": "type.googleapis.com/acme.Unknown" } }] };
    expect(() => fromEnvoyJson(ListenerSchema, json)).toThrow(/acme\.Unknown/);
  });

  it("reads YAML as well as JSON, and reports a syntax error with the file name", () => {
    const yaml = "name: l\naddress:\n  socket_address: { address: 0.0.0.0, port_value: 8080 }\n";
    expect(readEnvoyText(ListenerSchema, yaml).address?.address.case).toBe("socketAddress");
    expect(toEnvoyYaml(ListenerSchema, readEnvoyText(ListenerSchema, yaml))).toContain("port_value: 8080");
    expect(() => parseEnvoyText("name: [unclosed", "bad.yaml")).toThrow(/bad\.yaml/);
    expect(() => parseEnvoyText("{\"name\": ", "bad.json")).toThrow(/bad\.json/);
  });
});
