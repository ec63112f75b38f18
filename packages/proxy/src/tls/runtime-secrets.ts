// The runtime's side of secrets: static_resources.secrets, SDS over ADS,
// one SDS client per api_config_source cluster, and the glue that binds TLS
// specs (listener chains, clusters) to the secret store. Warming listeners
// hold their secrets' subscriptions until they activate.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { unpackAny } from "@weft/xds-api";
import { NodeSchema, type Node } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { ResourceRejectedError, type DumpEntry, type ResourceUpdate, type StatsStore } from "../contracts.js";
import type { ClusterConfig } from "../runtime/compile-cluster.js";
import type { ListenerConfig } from "../runtime/compile-listener.js";
import type { AdsTarget } from "../xds/ads-target.js";
import { createAdsChannel } from "../xds/ads-transport.js";
import { createClusterTransport, type ClusterTransport } from "./cluster-transport.js";
import { compileSecret } from "./compile-secret.js";
import type { SecretRef, SecretSource, TlsContextSpec } from "./compile-tls-context.js";
import { createLiveTlsContext, type LiveTlsContext } from "./live-tls-context.js";
import { createSdsClient, type SdsClient } from "./sds-client.js";
import { createSecretStore, type SecretStore } from "./secret-store.js";

export interface RuntimeSecretsDeps {
  logger: Logger;
  stats: StatsStore;
  report(field: string, detail?: string): void;
  /** The socket address of a static cluster's first endpoint (the SDS server). */
  clusterAddress(name: string): AdsTarget["address"] | undefined;
  /** Called (batched) after secrets arrive or change: activate warmed listeners, re-check init. */
  onSecretsChanged(): void;
  nodeId: string;
  serviceCluster?: string;
}

export interface RuntimeSecrets {
  readonly store: SecretStore;
  setNode(node: Node | undefined): void;
  applyStatic(secrets: readonly Secret[]): void;
  /** An SDS batch that came over ADS. */
  applyAds(update: ResourceUpdate): void;
  /** Names the ADS client must subscribe to (SDS with `ads: {}`). */
  adsNames(): string[];
  tlsContext(spec: TlsContextSpec): LiveTlsContext;
  clusterTransport(cfg: ClusterConfig): ClusterTransport | undefined;
  /** Subscribes a warming listener's secrets; returns the release function. */
  hold(l: ListenerConfig): () => void;
  /** Every secret the listener's TLS chains need has arrived. */
  listenerReady(l: ListenerConfig): boolean;
  /**
   * The secrets the listener still waits for, and how long it may wait for them (the largest
   * initial_fetch_timeout among them; `undefined` when one of them waits forever).
   */
  missing(l: ListenerConfig): { names: string[]; waitMs: number | undefined };
  dump(): DumpEntry[];
  close(): Promise<void>;
}

function refsOf(l: ListenerConfig): SecretRef[] {
  const out: SecretRef[] = [];
  for (const c of l.defaultChain ? [...l.chains, l.defaultChain] : l.chains) if (c.tls) out.push(...c.tls.refs);
  return out;
}

function compileOrReject(s: Secret, report: (f: string, d?: string) => void) {
  return compileSecret(s, s.name || "<unnamed secret>", report);
}

export function createRuntimeSecrets(deps: RuntimeSecretsDeps): RuntimeSecrets {
  /** The secret references of the listener's TLS chains that have not arrived (as the right kind). */
  function missingRefs(l: ListenerConfig): SecretRef[] {
    const out: SecretRef[] = [];
    for (const c of l.defaultChain ? [...l.chains, l.defaultChain] : l.chains) {
      const spec = c.tls;
      if (!spec) continue;
      if (spec.certificate && "ref" in spec.certificate && store.get(spec.certificate.ref)?.kind !== "tls_certificate") out.push(spec.certificate.ref);
      if (spec.validation?.ref && store.get(spec.validation.ref)?.kind !== "validation_context") out.push(spec.validation.ref);
    }
    return out;
  }

  const log = deps.logger.child({ component: "secrets" });
  const store = createSecretStore();
  const clients = new Map<string, SdsClient>();
  let node: Node = create(NodeSchema, { id: deps.nodeId, cluster: deps.serviceCluster ?? "" });
  let closed = false;
  let scheduled = false;
  const warnedMissing = new Set<string>();

  function syncClients(): void {
    if (closed) return;
    const wanted = new Map(store.grpcSources().map((s) => [s.key, s]));
    for (const [key, c] of clients) {
      if (!wanted.has(key)) {
        clients.delete(key);
        void c.close();
      } else c.refresh();
    }
    for (const [key, src] of wanted) {
      if (clients.has(key)) continue;
      const address = deps.clusterAddress(src.cluster);
      if (!address) {
        if (!warnedMissing.has(src.cluster)) log.error({ cluster: src.cluster }, "SDS cluster is not a static cluster with an endpoint; secrets from it never arrive");
        warnedMissing.add(src.cluster);
        continue;
      }
      clients.set(
        key,
        createSdsClient({
          node,
          channel: createAdsChannel(address),
          delta: src.delta,
          names: () => store.wanted(key),
          apply: (u) => applyFrom(src, u),
          logger: log.child({ sds: src.cluster }),
        }),
      );
    }
  }

  function applyFrom(src: SecretSource, u: ResourceUpdate): void {
    // Compile the whole batch first: one bad secret NACKs the batch and changes nothing.
    const compiled = u.resources.map((r) => {
      let s: Secret;
      try {
        s = unpackAny(r.resource, SecretSchema) as Secret;
      } catch (err) {
        throw new ResourceRejectedError(r.name, "", `cannot decode ${r.resource.typeUrl}: ${(err as Error).message}`);
      }
      return { ...r, value: compileOrReject(s, deps.report) };
    });
    for (const c of compiled) store.set(src, c.name, c.version, c.resource, c.value);
    for (const n of u.removed) store.remove(src, n);
  }

  store.onChange(() => {
    if (scheduled) return;
    scheduled = true;
    // Batched: a push of `default` and `ROOTCA` wakes the runtime once.
    queueMicrotask(() => {
      scheduled = false;
      syncClients();
      deps.onSecretsChanged();
    });
  });

  return {
    store,
    setNode(n) {
      if (n) node = n;
    },
    applyStatic(secrets) {
      const src: SecretSource = { kind: "static", key: "static" };
      secrets.forEach((s, i) => {
        if (!s.name) throw new ResourceRejectedError("bootstrap", `static_resources.secrets[${i}].name`, "must not be empty");
        store.set(src, s.name, "", anyPack(SecretSchema, s), compileOrReject(s, deps.report));
      });
    },
    applyAds: (u) => applyFrom({ kind: "ads", key: "ads" }, u),
    adsNames: () => store.wanted("ads"),
    tlsContext: (spec) => createLiveTlsContext(spec, store, log),
    clusterTransport: (cfg) => (cfg.transport ? createClusterTransport(cfg.transport, cfg.name, store, deps.stats, log) : undefined),
    hold(l) {
      const offs = refsOf(l).map((r) => store.watch(r, () => {}));
      return () => {
        for (const off of offs.splice(0)) off();
      };
    },
    listenerReady: (l) => missingRefs(l).length === 0,
    missing(l) {
      const refs = missingRefs(l);
      let waitMs: number | undefined = 0;
      for (const r of refs) waitMs = waitMs === undefined || r.initialFetchTimeoutMs === 0 ? undefined : Math.max(waitMs, r.initialFetchTimeoutMs);
      return { names: [...new Set(refs.map((r) => r.name))], waitMs };
    },
    dump: () => store.dump(),
    async close() {
      closed = true;
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}
