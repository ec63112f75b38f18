import { describe, expect, it } from "vitest";
import { parseJsonOrYaml } from "./json-or-yaml.js";

describe("parseJsonOrYaml()", () => {
  it("reads JSON as JSON", () => {
    expect(parseJsonOrYaml('{"concurrency": 2, "proxyMetadata": {"A": "1"}}')).toEqual({ concurrency: 2, proxyMetadata: { A: "1" } });
  });

  it("reads what JSON refuses as YAML: block and flow mappings, comments", () => {
    expect(parseJsonOrYaml("concurrency: 2\nproxyMetadata:\n  A: '1' # quoted\n")).toEqual({ concurrency: 2, proxyMetadata: { A: "1" } });
    expect(parseJsonOrYaml("{holdApplicationUntilProxyStarts: true}")).toEqual({ holdApplicationUntilProxyStarts: true });
  });

  it("throws YAML's error for text that is neither", () => {
    expect(() => parseJsonOrYaml("a: [1, 2\nb: }")).toThrow(/line \d+/);
  });
});
