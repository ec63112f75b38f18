import { createRegistry, type DescMessage, type Registry } from "@bufbuild/protobuf";
import { generatedFiles } from "./gen/registry-files.js";

/**
 * Every message, enum and extension Weft generates, plus the well-known
 * types. Used to resolve `Any` type URLs and for proto3 JSON, so any
 * `typed_config` decodes to its real type.
 */
export const xdsRegistry: Registry = createRegistry(...generatedFiles);

/** Looks a message up by full name (`envoy.config.listener.v3.Listener`) or type URL. */
export function findMessage(nameOrTypeUrl: string): DescMessage | undefined {
  const slash = nameOrTypeUrl.lastIndexOf("/");
  return xdsRegistry.getMessage(slash >= 0 ? nameOrTypeUrl.slice(slash + 1) : nameOrTypeUrl);
}
