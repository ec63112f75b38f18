import type { Any } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { StatusSchema, type Status } from "../gen/google/rpc/status_pb.js";
import { unpackAny } from "../any.js";
import { XdsError } from "../errors.js";
import { INVALID_ARGUMENT } from "./resources.js";

/** One batch handed to the client's `apply`: throw to NACK (the old config stays). */
export interface ClientUpdate {
  typeUrl: string;
  version: string;
  resources: Array<{ name: string; version: string; resource: Any }>;
  removed: string[];
  /** True for SotW LDS/CDS: `resources` is everything; anything else is gone (also listed in `removed`). */
  stateOfTheWorld: boolean;
}

export type ApplyUpdate = (update: ClientUpdate) => void | Promise<void>;

/** Per-type client state, for the proxy's own status pages. */
export interface AdsClientTypeStatus {
  typeUrl: string;
  wildcard: boolean;
  names: string[];
  acceptedVersion: string;
  lastNonce: string;
  lastError?: string;
}

/**
 * The name of a resource inside an Any, as SotW responses carry them unnamed.
 * Handles the `envoy.service.discovery.v3.Resource` wrapper too.
 */
export function resourceNameOf(any: Any): string {
  const { message } = unpackAny(any);
  const fields = message as unknown as Record<string, unknown>;
  for (const key of ["name", "clusterName"]) {
    if (typeof fields[key] === "string" && fields[key]) return fields[key] as string;
  }
  throw new XdsError("invalid_any", `${any.typeUrl}: resource has no name`);
}

export function errorStatus(error: unknown): Status {
  const message = error instanceof Error ? error.message : String(error);
  return create(StatusSchema, { code: INVALID_ARGUMENT, message });
}
