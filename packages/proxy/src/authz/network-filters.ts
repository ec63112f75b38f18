// Network filters that run on a new connection before the chain's terminal
// filter (tcp_proxy or http_connection_manager): envoy.filters.network.rbac
// and Istio's istio_authn (io.istio.network.authn.Config), which publishes the
// TLS peer identity as filter state `io.istio.peer_principal` for the RBAC
// filters' filter_state principals.
import type { Socket } from "node:net";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { RBACSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/rbac/v3/rbac_pb.js";
import { TypedStructSchema } from "@weft/xds-api/gen/udpa/type/v1/typed_struct_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import type { FilterRuntimeDeps } from "../http/http-filter.js";
import type { ConnInfo } from "../listener/conn-info.js";
import { setConnFilterState } from "./authz-input.js";
import { NOOP_STATS } from "./noop-stats.js";
import { compileRbacEngine } from "./rbac-engine.js";

export interface NetworkFilter {
  readonly name: string;
  /**
   * Runs once per connection before the terminal filter. Returns undefined to
   * continue, or the connection termination details when the connection must be closed.
   * `socket` lets a filter follow the connection's life (connection_limit counts active ones).
   */
  onConnection(conn: ConnInfo, socket?: Socket): string | undefined;
  /** Close a refused connection only after this long, reading nothing meanwhile (connection_limit `delay`). */
  readonly closeDelayMs?: number;
}

export interface NetworkFilterCompileContext {
  resource: string;
  field: string;
  report(field: string, detail?: string): void;
  runtime?: FilterRuntimeDeps;
}

export const NETWORK_RBAC_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";
const TYPED_STRUCTS = ["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"];
const ISTIO_AUTHN = "type.googleapis.com/io.istio.network.authn.Config";

/** The network filter for this config, or undefined when it is not one of ours (the caller decides). */
export function compileNetworkFilter(name: string, any: Any, cc: NetworkFilterCompileContext): NetworkFilter | undefined {
  if (any.typeUrl === NETWORK_RBAC_TYPE_URL) return compileNetworkRbac(name, any, cc);
  if (TYPED_STRUCTS.includes(any.typeUrl)) {
    // xds.type.v3.TypedStruct has the same wire shape as udpa's (type_url = 1, value = 2).
    const ts = anyUnpack({ ...any, typeUrl: TYPED_STRUCTS[0] } as Any, TypedStructSchema);
    if (ts?.typeUrl === ISTIO_AUTHN) return istioAuthnFilter(name);
  }
  return undefined;
}

function istioAuthnFilter(name: string): NetworkFilter {
  return {
    name,
    onConnection(conn) {
      // Istio's istio_authn: the verified peer certificate's SPIFFE URI SAN, only over TLS we terminated.
      const peer = conn.tls?.peerUriSan;
      if (peer) setConnFilterState(conn, "io.istio.peer_principal", peer);
      const local = conn.tls?.localUriSan;
      if (local) setConnFilterState(conn, "io.istio.local_principal", local);
      return undefined;
    },
  };
}

function compileNetworkRbac(name: string, any: Any, cc: NetworkFilterCompileContext): NetworkFilter {
  const cfg = anyUnpack(any, RBACSchema);
  if (!cfg) throw new ResourceRejectedError(cc.resource, cc.field, `cannot decode ${NETWORK_RBAC_TYPE_URL}`);
  if (!cfg.statPrefix) throw new ResourceRejectedError(cc.resource, `${cc.field}.stat_prefix`, "must not be empty");
  if (cfg.matcher) throw new ResourceRejectedError(cc.resource, `${cc.field}.matcher`, "the unified matcher API is not implemented for RBAC (fail closed)");
  if (cfg.shadowMatcher) throw new ResourceRejectedError(cc.resource, `${cc.field}.shadow_matcher`, "the unified matcher API is not implemented for RBAC");
  // CONTINUOUS re-checks on every read in Envoy; our inputs are fixed per connection, so one check is equivalent.
  const engine = cfg.rules ? compileRbacEngine(cfg.rules, cc.resource, `${cc.field}.rules`) : undefined;
  const shadow = cfg.shadowRules ? compileRbacEngine(cfg.shadowRules, cc.resource, `${cc.field}.shadow_rules`) : undefined;
  const stats = cc.runtime?.stats ?? NOOP_STATS;
  const p = `${cfg.statPrefix}rbac.`;
  const allowed = stats.counter(p + "allowed");
  const denied = stats.counter(p + "denied");
  const logged = stats.counter(p + "logged");
  const notLogged = stats.counter(p + "not_logged");
  const shadowAllowed = stats.counter(`${p}${cfg.shadowRulesStatPrefix}shadow_allowed`);
  const shadowDenied = stats.counter(`${p}${cfg.shadowRulesStatPrefix}shadow_denied`);
  return {
    name,
    onConnection(conn) {
      if (shadow) (shadow.evaluate(conn, undefined).allowed ? shadowAllowed : shadowDenied).inc();
      if (!engine) return undefined;
      const d = engine.evaluate(conn, undefined);
      if (engine.action === "LOG") {
        (d.log ? logged : notLogged).inc();
        return undefined;
      }
      if (d.allowed) {
        allowed.inc();
        return undefined;
      }
      denied.inc();
      return `rbac_access_denied_matched_policy[${d.policyId || "none"}]`;
    },
  };
}
