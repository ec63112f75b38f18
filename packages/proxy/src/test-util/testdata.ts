import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readEnvoyText } from "@weft/xds-api";
import { BootstrapSchema, type Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";

/** /work/shared/testdata, found relative to the repo checkout. */
export const TESTDATA_DIR = fileURLToPath(new URL("../../../../../shared/testdata/", import.meta.url));

export const ENVOY_REV0_PATH = TESTDATA_DIR + "envoy-rev0.json";

export function readTestdata(name: string): string {
  return readFileSync(TESTDATA_DIR + name, "utf8");
}

/** The bootstrap Istio's pilot-agent wrote, parsed as-is. */
export function loadRev0Bootstrap(): Bootstrap {
  return readEnvoyText(BootstrapSchema, readTestdata("envoy-rev0.json"));
}
