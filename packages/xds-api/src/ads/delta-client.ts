import { create } from "@bufbuild/protobuf";
import type { Node } from "../gen/envoy/config/core/v3/base_pb.js";
import {
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { errorStatus, type AdsClientTypeStatus, type ApplyUpdate } from "./client-update.js";
import { WILDCARD } from "./resources.js";

interface DeltaClientWatch {
  wildcard: boolean;
  names: Set<string>;
  /** name → version of what this client has applied. */
  held: Map<string, string>;
  systemVersion: string;
  lastNonce: string;
  lastError?: string;
}

/** The proxy's side of an incremental ADS stream, transport-free. */
export interface DeltaClient {
  subscribe(typeUrl: string, names: readonly string[] | "*"): DeltaDiscoveryRequest | undefined;
  receive(response: DeltaDiscoveryResponse, apply: ApplyUpdate): Promise<DeltaDiscoveryRequest>;
  /** Initial requests for a new stream: current subscriptions plus initial_resource_versions of what is held. */
  reconnect(): DeltaDiscoveryRequest[];
  status(): AdsClientTypeStatus[];
}

export function createDeltaClient(node: Node): DeltaClient {
  const watches = new Map<string, DeltaClientWatch>();
  let nodeSent = false;

  function withNode(req: DeltaDiscoveryRequest): DeltaDiscoveryRequest {
    if (!nodeSent) {
      req.node = node;
      nodeSent = true;
    }
    return req;
  }

  return {
    subscribe(typeUrl, names) {
      const wildcard = names === WILDCARD;
      const wanted = new Set(wildcard ? [] : names);
      const watch = watches.get(typeUrl);
      if (!watch) {
        watches.set(typeUrl, { wildcard, names: wanted, held: new Map(), systemVersion: "", lastNonce: "" });
        return withNode(create(DeltaDiscoveryRequestSchema, { typeUrl, resourceNamesSubscribe: wildcard ? [WILDCARD] : [...wanted].sort() }));
      }
      const subscribe = [...wanted].filter((n) => !watch.names.has(n)).sort();
      const unsubscribe = [...watch.names].filter((n) => !wanted.has(n)).sort();
      if (wildcard && !watch.wildcard) subscribe.push(WILDCARD);
      if (!wildcard && watch.wildcard) unsubscribe.push(WILDCARD);
      if (subscribe.length === 0 && unsubscribe.length === 0) return undefined;
      watch.wildcard = wildcard;
      watch.names = wanted;
      for (const n of unsubscribe) watch.held.delete(n);
      return withNode(create(DeltaDiscoveryRequestSchema, { typeUrl, resourceNamesSubscribe: subscribe, resourceNamesUnsubscribe: unsubscribe }));
    },

    async receive(response, apply) {
      const typeUrl = response.typeUrl;
      let watch = watches.get(typeUrl);
      if (!watch) {
        watch = { wildcard: false, names: new Set(), held: new Map(), systemVersion: "", lastNonce: "" };
        watches.set(typeUrl, watch);
      }
      watch.lastNonce = response.nonce;
      try {
        const resources = response.resources.map((r) => {
          if (!r.resource) throw new Error(`resource ${JSON.stringify(r.name)} has no body`);
          return { name: r.name, version: r.version, resource: r.resource };
        });
        await apply({ typeUrl, version: response.systemVersionInfo, resources, removed: [...response.removedResources], stateOfTheWorld: false });
        for (const r of resources) watch.held.set(r.name, r.version);
        for (const name of response.removedResources) watch.held.delete(name);
        watch.systemVersion = response.systemVersionInfo;
        watch.lastError = undefined;
        return create(DeltaDiscoveryRequestSchema, { typeUrl, responseNonce: response.nonce });
      } catch (error) {
        watch.lastError = error instanceof Error ? error.message : String(error);
        return create(DeltaDiscoveryRequestSchema, { typeUrl, responseNonce: response.nonce, errorDetail: errorStatus(error) });
      }
    },

    reconnect() {
      nodeSent = false;
      return [...watches].map(([typeUrl, w]) =>
        withNode(
          create(DeltaDiscoveryRequestSchema, {
            typeUrl,
            resourceNamesSubscribe: w.wildcard ? [WILDCARD, ...w.names] : [...w.names].sort(),
            initialResourceVersions: Object.fromEntries(w.held),
          }),
        ),
      );
    },

    status: () =>
      [...watches].map(([typeUrl, w]) => ({
        typeUrl,
        wildcard: w.wildcard,
        names: [...w.names],
        acceptedVersion: w.systemVersion,
        lastNonce: w.lastNonce,
        lastError: w.lastError,
      })),
  };
}
