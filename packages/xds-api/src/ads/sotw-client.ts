import { create } from "@bufbuild/protobuf";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import {
  DiscoveryRequestSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { Status } from "../gen/google/rpc/status_pb.js";
import { errorStatus, resourceNameOf, type AdsClientTypeStatus, type ApplyUpdate } from "./client-update.js";
import { WILDCARD, isStateOfTheWorldType } from "./resources.js";

interface ClientWatch {
  wildcard: boolean;
  names: string[];
  acceptedVersion: string;
  lastNonce: string;
  known: Set<string>;
  lastError?: string;
}

/**
 * The proxy's side of a State-of-the-World ADS stream, with no transport.
 * It decides what to send (subscriptions, ACK, NACK) and what changed; the
 * caller's `apply` decides whether a batch is acceptable.
 */
export interface SotwClient {
  /** Starts or changes a subscription; undefined when nothing changed. `"*"` is the wildcard. */
  subscribe(typeUrl: string, names: readonly string[] | "*"): DiscoveryRequest | undefined;
  /** Applies a response through `apply` and returns the ACK, or the NACK if `apply` threw. */
  receive(response: DiscoveryResponse, apply: ApplyUpdate): Promise<DiscoveryRequest>;
  /** The requests that re-establish every subscription on a new stream, with the versions already held. */
  reconnect(): DiscoveryRequest[];
  status(): AdsClientTypeStatus[];
}

export function createSotwClient(node: Node): SotwClient {
  const watches = new Map<string, ClientWatch>();
  // Envoy sends the node on the first request of a stream only.
  let nodeSent = false;

  function request(typeUrl: string, watch: ClientWatch, extra: { errorDetail?: Status; responseNonce?: string } = {}): DiscoveryRequest {
    const req = create(DiscoveryRequestSchema, {
      typeUrl,
      versionInfo: watch.acceptedVersion,
      responseNonce: watch.lastNonce,
      resourceNames: watch.wildcard ? [] : watch.names,
      ...extra,
    });
    if (!nodeSent) {
      req.node = node;
      nodeSent = true;
    }
    return req;
  }

  return {
    subscribe(typeUrl, names) {
      const wildcard = names === WILDCARD;
      const list = wildcard ? [] : [...new Set(names)].sort();
      const watch = watches.get(typeUrl);
      if (watch && watch.wildcard === wildcard && watch.names.join("\0") === list.join("\0")) return undefined;
      if (!watch) {
        const fresh = { wildcard, names: list, acceptedVersion: "", lastNonce: "", known: new Set<string>() };
        watches.set(typeUrl, fresh);
        return request(typeUrl, fresh);
      }
      watch.wildcard = wildcard;
      watch.names = list;
      return request(typeUrl, watch);
    },

    async receive(response, apply) {
      const typeUrl = response.typeUrl;
      let watch = watches.get(typeUrl);
      if (!watch) {
        // A push for a type we never asked for: reject it, keep nothing.
        watch = { wildcard: false, names: [], acceptedVersion: "", lastNonce: "", known: new Set() };
        watches.set(typeUrl, watch);
      }
      watch.lastNonce = response.nonce;
      try {
        const resources = response.resources.map((resource) => ({ name: resourceNameOf(resource), version: response.versionInfo, resource }));
        const stateOfTheWorld = isStateOfTheWorldType(typeUrl) || watch.wildcard;
        const names = new Set(resources.map((r) => r.name));
        if (names.size !== resources.length) throw new Error(`duplicate resource names in ${typeUrl} response`);
        const removed = stateOfTheWorld ? [...watch.known].filter((n) => !names.has(n)) : [];
        await apply({ typeUrl, version: response.versionInfo, resources, removed, stateOfTheWorld });
        if (stateOfTheWorld) watch.known = names;
        else for (const n of names) watch.known.add(n);
        watch.acceptedVersion = response.versionInfo;
        watch.lastError = undefined;
        return request(typeUrl, watch);
      } catch (error) {
        watch.lastError = error instanceof Error ? error.message : String(error);
        return request(typeUrl, watch, { errorDetail: errorStatus(error) });
      }
    },

    reconnect() {
      nodeSent = false;
      return [...watches].map(([typeUrl, watch]) => request(typeUrl, watch, { responseNonce: "" }));
    },

    status: () =>
      [...watches].map(([typeUrl, w]) => ({
        typeUrl,
        wildcard: w.wildcard,
        names: [...w.names],
        acceptedVersion: w.acceptedVersion,
        lastNonce: w.lastNonce,
        lastError: w.lastError,
      })),
  };
}
