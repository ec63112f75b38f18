import { createMutableRegistry, type DescEnum, type DescExtension, type DescFile, type DescMessage, type DescService, type Registry } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { fileDesc } from "./descriptor-cache.js";
import { embeddedFiles, extensionFiles, typeFiles, wellKnownFiles } from "./gen/registry-index.js";

type AnyDesc = DescMessage | DescEnum | DescExtension | DescService;

/**
 * A registry of every generated Envoy/xDS/Istio type plus the well-known
 * types, hydrating a file's descriptors only when one of its types is first
 * asked for (gen/registry-index.ts says which file defines what). Hydrating
 * all ~180 files at import cost ~1 s of CPU and ~13 MB per process; the proxy
 * uses about half of them. Lookups stay synchronous, and a file is hydrated
 * once whether its _pb module was imported or not (descriptor-cache.ts).
 */
function createLazyRegistry(): Registry {
  const loaded = createMutableRegistry();
  const done: boolean[] = [];

  const file = (i: number): DescFile => {
    if (i < wellKnownFiles.length) return wellKnownFiles[i]!;
    const [, b64, deps] = embeddedFiles[i - wellKnownFiles.length]!;
    return fileDesc(b64, deps.map(file));
  };
  const load = (i: number | undefined): void => {
    if (i === undefined || done[i]) return;
    for (const t of nestedTypes(file(i))) loaded.add(t);
    done[i] = true;
  };
  const byName = (typeName: string): void => load(Object.hasOwn(typeFiles, typeName) ? typeFiles[typeName] : undefined);
  const loadAll = (): void => {
    for (let i = 0; i < wellKnownFiles.length + embeddedFiles.length; i++) load(i);
  };

  return {
    kind: "registry",
    [Symbol.iterator](): IterableIterator<AnyDesc> {
      loadAll();
      return loaded[Symbol.iterator]();
    },
    get(typeName) {
      byName(typeName);
      return loaded.get(typeName);
    },
    getMessage(typeName) {
      byName(typeName);
      return loaded.getMessage(typeName);
    },
    getEnum(typeName) {
      byName(typeName);
      return loaded.getEnum(typeName);
    },
    getExtension(typeName) {
      byName(typeName);
      return loaded.getExtension(typeName);
    },
    getExtensionFor(extendee, no) {
      const key = `${extendee.typeName}:${no}`;
      load(Object.hasOwn(extensionFiles, key) ? extensionFiles[key] : undefined);
      return loaded.getExtensionFor(extendee, no);
    },
    getService(typeName) {
      byName(typeName);
      return loaded.getService(typeName);
    },
  };
}

/**
 * Every message, enum and extension Weft generates, plus the well-known
 * types. Used to resolve `Any` type URLs and for proto3 JSON, so any
 * `typed_config` decodes to its real type. Files are hydrated on first use.
 */
export const xdsRegistry: Registry = createLazyRegistry();

/** Looks a message up by full name (`envoy.config.listener.v3.Listener`) or type URL. */
export function findMessage(nameOrTypeUrl: string): DescMessage | undefined {
  const slash = nameOrTypeUrl.lastIndexOf("/");
  return xdsRegistry.getMessage(slash >= 0 ? nameOrTypeUrl.slice(slash + 1) : nameOrTypeUrl);
}
