// The registry hydrates a generated file only when one of its types is asked
// for, and shares descriptors with the _pb modules (descriptor-cache.ts).
import { describe, expect, it } from "vitest";
import { hydratedFileCount } from "./descriptor-cache.js";
import { embeddedFiles, typeFiles, wellKnownFiles } from "./gen/registry-index.js";
import { findMessage, xdsRegistry } from "./registry.js";

describe("xdsRegistry", () => {
  it("hydrates nothing at import, then only the files a lookup needs", () => {
    // Nothing in this test file's imports has touched a _pb module yet.
    expect(hydratedFileCount()).toBe(0);
    const hcm = findMessage("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    expect(hcm?.typeName).toBe("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
    const after = hydratedFileCount();
    expect(after).toBeGreaterThan(1); // the file and its dependencies
    expect(after).toBeLessThan(embeddedFiles.length);
    expect(findMessage("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager")).toBe(hcm);
    expect(hydratedFileCount()).toBe(after);
  });

  it("gives the same descriptor objects as the generated modules, in either order", async () => {
    const viaRegistry = findMessage("envoy.config.listener.v3.Listener");
    const { ListenerSchema } = await import("./gen/envoy/config/listener/v3/listener_pb.js");
    expect(viaRegistry).toBe(ListenerSchema);
    const { RouterSchema } = await import("./gen/envoy/extensions/filters/http/router/v3/router_pb.js");
    expect(findMessage("envoy.extensions.filters.http.router.v3.Router")).toBe(RouterSchema);
    // A field's message type is the registry's too (dependencies are shared, not re-hydrated).
    const addressField = ListenerSchema.fields.find((f) => f.name === "address");
    expect(addressField?.message).toBe(findMessage("envoy.config.core.v3.Address"));
  });

  it("resolves enums, services, nested types, extensions by extendee and number, and the well-known types", async () => {
    expect(xdsRegistry.getEnum("envoy.config.core.v3.RoutingPriority")?.values.map((v) => v.name)).toEqual(["DEFAULT", "HIGH"]);
    expect(xdsRegistry.getService("envoy.service.discovery.v3.AggregatedDiscoveryService")?.methods.map((m) => m.name)).toContain("DeltaAggregatedResources");
    expect(findMessage("envoy.config.route.v3.RouteAction.HashPolicy.Header")?.typeName).toBe("envoy.config.route.v3.RouteAction.HashPolicy.Header");
    const { FieldOptionsSchema, AnySchema } = await import("@bufbuild/protobuf/wkt");
    expect(findMessage("google.protobuf.Any")).toBe(AnySchema);
    const rules = xdsRegistry.getExtensionFor(FieldOptionsSchema, 1071);
    expect(rules?.typeName).toBe("validate.rules");
    expect(xdsRegistry.getExtension("validate.rules")).toBe(rules);
    expect(xdsRegistry.get("validate.rules")).toBe(rules);
  });

  it("answers undefined for unknown names, and a type of the wrong kind", () => {
    expect(findMessage("type.googleapis.com/envoy.nope.v3.Nothing")).toBeUndefined();
    expect(findMessage("toString")).toBeUndefined();
    expect(xdsRegistry.getEnum("envoy.config.listener.v3.Listener")).toBeUndefined();
    expect(xdsRegistry.getExtensionFor(findMessage("envoy.config.listener.v3.Listener")!, 9999)).toBeUndefined();
  });

  it("iterates every type of every file, each once", () => {
    const names = [...xdsRegistry].map((t) => t.typeName);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Object.keys(typeFiles).sort());
    expect(hydratedFileCount()).toBe(embeddedFiles.length);
    expect(wellKnownFiles.map((f) => f.name)).toContain("google/protobuf/struct");
  });
});
