import type { Any } from "@bufbuild/protobuf/wkt";
import { TypeUrl } from "../type-urls.js";

/** One xDS resource as the protocol carries it: its name, a content version and the packed message. */
export interface VersionedResource {
  name: string;
  version: string;
  resource: Any;
}

/** Everything a server currently has for one type (for one proxy). */
export interface ResourceSnapshot {
  /** Version of the whole set: SotW version_info, delta system_version_info. */
  version: string;
  resources: ReadonlyMap<string, VersionedResource>;
}

/** Why a client rejected a response: gRPC status code 3 (INVALID_ARGUMENT) and the reason. */
export interface NackDetail {
  version: string;
  nonce: string;
  message: string;
  at: Date;
}

/**
 * Listener and Cluster are the types whose SotW responses carry the complete
 * state: a resource missing from a response is removed. For the others (RDS,
 * EDS, SDS…) a response only says something about the resources it carries.
 * (xDS protocol, "Grouping resources into responses".)
 */
export function isStateOfTheWorldType(typeUrl: string): boolean {
  return typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
}

/** gRPC status code for rejected config, as Envoy sends it in error_detail. */
export const INVALID_ARGUMENT = 3;

/** Creates a nonce source: short, unique per stream, never empty. */
export function createNonceSource(prefix = ""): () => string {
  let next = 0;
  return () => `${prefix}${(++next).toString(36)}`;
}

/** The wildcard subscription marker of the xDS protocol. */
export const WILDCARD = "*";

/** Resolves a subscription request into (wildcard, names), following the legacy rule for LDS/CDS. */
export function parseSubscription(names: readonly string[], typeUrl: string, initial: boolean): { wildcard: boolean; names: Set<string> } {
  const explicit = new Set(names.filter((n) => n !== WILDCARD));
  const wildcard = names.includes(WILDCARD) || (initial && names.length === 0 && isStateOfTheWorldType(typeUrl));
  return { wildcard, names: explicit };
}

export function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
