import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The shared testdata directory (real Istio/Envoy artifacts): `<repo root>/../shared/testdata`,
 * or $WEFT_TESTDATA when set. Same convention as @weft/xds-api's test helper.
 */
export function testdataDir(): string {
  if (process.env.WEFT_TESTDATA) return resolve(process.env.WEFT_TESTDATA);
  return resolve(fileURLToPath(new URL("../../..", import.meta.url)), "..", "shared", "testdata");
}

export function hasTestdata(file: string): boolean {
  return existsSync(resolve(testdataDir(), file));
}
