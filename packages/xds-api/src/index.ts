// @weft/xds-api: the one place Weft talks xDS.
// Generated message types live under the `@weft/xds-api/gen/<proto path>_pb`
// subpath (one module per .proto file); everything hand-written is here.
export { XdsError, type XdsErrorCode } from "./errors.js";
export { xdsRegistry, findMessage } from "./registry.js";
export { TypeUrl, TYPE_SHORT_NAME, PUSH_ORDER, typeUrlOf, typeNameOf, type XdsTypeUrl } from "./type-urls.js";
export { packAny, unpackAny, schemaOfAny } from "./any.js";
export {
  fromEnvoyJson,
  toEnvoyJson,
  parseEnvoyText,
  readEnvoyText,
  toEnvoyYaml,
  type ReadOptions,
  type WriteOptions,
} from "./json/envoy-json.js";
export * from "./ads/index.js";
export { validateMessage, assertValid } from "./validate/validate-message.js";
export type { ValidationIssue, ValidateOptions } from "./validate/types.js";
