import { describe, expect, it } from "vitest";
import { ClusterSchema } from "../gen/envoy/config/cluster/v3/cluster_pb.js";
import { jsonDifferences } from "./json-equivalence.js";

describe("jsonDifferences()", () => {
  const original = { name: "c", connect_timeout: "0.250s", lb_policy: "ROUND_ROBIN", metadata: { filter_metadata: { istio: { tlsMode: "istio" } } } };

  it("accepts Envoy's equivalent spellings", () => {
    expect(jsonDifferences(ClusterSchema, original, { name: "c", connect_timeout: "0.25s", metadata: { filter_metadata: { istio: { tlsMode: "istio" } } } })).toEqual([]);
  });

  it.each([
    ["a dropped field", { connect_timeout: "0.25s", metadata: original.metadata }, ".name: missing"],
    ["a changed duration", { name: "c", connect_timeout: "1s", metadata: original.metadata }, ".connect_timeout"],
    ["a non-default enum dropped", { name: "c", connect_timeout: "0.25s", metadata: original.metadata, extra: 1 }, ".extra: added"],
    ["a renamed struct key", { name: "c", connect_timeout: "0.25s", metadata: { filter_metadata: { istio: { tls_mode: "istio" } } } }, ".metadata.filter_metadata[istio]"],
  ])("notices %s", (_, written, expected) => {
    expect(jsonDifferences(ClusterSchema, original, written).join("\n")).toContain(expected);
  });
});
