// Every secret the proxy holds, by source (static, ADS, or one SDS stream per
// api_config_source) and name, with the TLS contexts waiting on them. A new
// version notifies its watchers, which rebuild their secure contexts for new
// handshakes; connections already up keep the context they were made with.
import { create } from "@bufbuild/protobuf";
import { anyPack, type Any } from "@bufbuild/protobuf/wkt";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { DumpEntry } from "../contracts.js";
import type { CompiledSecret } from "./compile-secret.js";
import type { SecretRef, SecretSource } from "./compile-tls-context.js";

interface Slot {
  name: string;
  source: SecretSource;
  version: string;
  lastUpdated: Date;
  resource?: Any;
  value?: CompiledSecret;
  watchers: Set<() => void>;
}

export interface SecretStore {
  /** Current value of a secret, if it has arrived. */
  get(ref: SecretRef): CompiledSecret | undefined;
  /** Calls `onChange` whenever the secret changes; returns the unwatch function. */
  watch(ref: SecretRef, onChange: () => void): () => void;
  set(source: SecretSource, name: string, version: string, resource: Any, value: CompiledSecret): void;
  remove(source: SecretSource, name: string): void;
  /** Names watched from a source (what its SDS subscription must ask for). */
  wanted(sourceKey: string): string[];
  /** The api_config_source sources someone is waiting on. */
  grpcSources(): Array<Extract<SecretSource, { kind: "grpc" }>>;
  /** Called after the set of wanted names changes (subscribe/unsubscribe) or a secret arrives. */
  onChange(listener: () => void): void;
  dump(): DumpEntry[];
}

export function createSecretStore(): SecretStore {
  const slots = new Map<string, Slot>();
  const listeners: Array<() => void> = [];
  const key = (sourceKey: string, name: string) => `${sourceKey}\u0000${name}`;
  const notifyStore = () => {
    for (const l of listeners) l();
  };

  function slot(source: SecretSource, name: string): Slot {
    const k = key(source.key, name);
    let s = slots.get(k);
    if (!s) {
      s = { name, source, version: "", lastUpdated: new Date(), watchers: new Set() };
      slots.set(k, s);
    }
    return s;
  }

  return {
    get: (ref) => slots.get(key(ref.source.key, ref.name))?.value,
    watch(ref, onChange) {
      const s = slot(ref.source, ref.name);
      const first = s.watchers.size === 0;
      s.watchers.add(onChange);
      if (first) notifyStore();
      return () => {
        if (!s.watchers.delete(onChange)) return;
        if (s.watchers.size === 0 && s.source.kind !== "static") {
          // Envoy drops a dynamic secret nobody references any more (and unsubscribes it).
          slots.delete(key(s.source.key, s.name));
          notifyStore();
        }
      };
    },
    set(source, name, version, resource, value) {
      const s = slot(source, name);
      s.version = version;
      s.lastUpdated = new Date();
      s.resource = resource;
      s.value = value;
      for (const w of [...s.watchers]) w();
      notifyStore();
    },
    remove(source, name) {
      const s = slots.get(key(source.key, name));
      if (!s) return;
      // Envoy keeps serving with the last secret when SDS removes it; only the dump forgets it.
      s.resource = undefined;
      if (s.watchers.size === 0) slots.delete(key(source.key, name));
    },
    wanted(sourceKey) {
      const out: string[] = [];
      for (const s of slots.values()) if (s.source.key === sourceKey && s.watchers.size > 0) out.push(s.name);
      return out.sort();
    },
    grpcSources() {
      const out = new Map<string, Extract<SecretSource, { kind: "grpc" }>>();
      for (const s of slots.values()) if (s.source.kind === "grpc" && s.watchers.size > 0) out.set(s.source.key, s.source);
      return [...out.values()];
    },
    onChange(l) {
      listeners.push(l);
    },
    dump() {
      const out: DumpEntry[] = [];
      for (const s of slots.values()) {
        if (s.resource) out.push({ name: s.name, version: s.version, lastUpdated: s.lastUpdated, resource: s.resource, state: s.source.kind === "static" ? "static" : "active" });
        // Asked for and not (yet) received: Envoy dumps it as a warming secret holding only its
        // name, version "uninitialized" (istioctl shows WARMING), which is how a missing
        // credentialName is diagnosed.
        else if (s.watchers.size > 0 && s.source.kind !== "static") out.push({ name: s.name, version: "uninitialized", lastUpdated: s.lastUpdated, resource: anyPack(SecretSchema, create(SecretSchema, { name: s.name })), state: "warming" });
      }
      return out;
    },
  };
}
