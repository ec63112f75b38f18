// JSON or YAML text (PROXY_CONFIG, annotations, ISTIO_METAJSON_*): JSON.parse first, the yaml
// package only for what JSON.parse refuses. The injector writes PROXY_CONFIG as JSON and most
// pods have no YAML at all, so most agents never load yaml (≈ 1 MB of heap once used, and
// 160 KB of bundle source if bundled): it is loaded at run time through createRequire, which
// scripts/bundle-bin.mjs leaves out of the bundle, from @weft/agent's dependencies.
import { createRequire } from "node:module";

type YamlParse = (text: string) => unknown;
let yamlParse: YamlParse | undefined;
function loadYamlParse(): YamlParse {
  if (yamlParse) return yamlParse;
  try {
    yamlParse = (createRequire(import.meta.url)("yaml") as { parse: YamlParse }).parse;
  } catch (err) {
    throw new Error(`not JSON, and reading it as YAML needs the "yaml" package, which @weft/agent depends on but is not installed here (${(err as Error).message.split("\n")[0]}) — reinstall @weft/agent with its dependencies`, { cause: err });
  }
  return yamlParse;
}

/** The value of JSON or YAML `text` (YAML is a superset of JSON); throws YAML's error for neither. */
export function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return loadYamlParse()(text);
  }
}
