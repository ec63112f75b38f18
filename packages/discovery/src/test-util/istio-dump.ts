// Pieces of Istio's own config dumps in shared/testdata/istio, for tests that
// compare generated security config against what istiod generated.
import type { JsonObject } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";

const ISTIO = new URL("../../../../../shared/testdata/istio/", import.meta.url);

export function istioDump(file: string): { configs: JsonObject[] } {
  return JSON.parse(readFileSync(new URL(file, ISTIO), "utf8")) as { configs: JsonObject[] };
}

/** A dynamic listener of sidecar-configdump-authz.yaml (a JSON dump despite the name). */
export function authzDumpListener(name: string): JsonObject {
  for (const section of istioDump("sidecar-configdump-authz.yaml").configs) {
    for (const l of (section.dynamic_listeners ?? []) as JsonObject[]) {
      const listener = (l.active_state as JsonObject | undefined)?.listener as JsonObject | undefined;
      if (listener?.name === name) return listener;
    }
  }
  throw new Error(`no listener ${name} in sidecar-configdump-authz.yaml`);
}
