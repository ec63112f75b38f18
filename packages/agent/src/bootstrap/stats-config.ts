import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StatsConfigSchema } from "@weft/xds-api/gen/envoy/config/metrics/v3/stats_pb";

/**
 * Istio's tag extraction rules (pilot-agent's bootstrap template, `stats_tags`), in Istio's
 * order: they turn the flat names of the istio.stats filter (`reporter=.=inbound;.;…`) and of
 * Envoy's own stats into Prometheus labels. Data, not logic: keep them byte-identical to Istio.
 */
export const ISTIO_STATS_TAGS: ReadonlyArray<readonly [tagName: string, regex: string]> = [
  ["cluster_name", "^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)"],
  ["tcp_prefix", "^tcp\\.((.*?)\\.)\\w+?$"],
  ["response_code", "(response_code=\\.=(.+?);\\.;)|_rq(_(\\.d{3}))$"],
  ["response_code_class", "_rq(_(\\dxx))$"],
  ["http_conn_manager_listener_prefix", "^listener(?=\\.).*?\\.http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"],
  ["http_conn_manager_prefix", "^http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"],
  ["listener_address", "^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"],
  ["mongo_prefix", "^mongo\\.(.+?)\\.(collection|cmd|cx_|op_|delays_|decoding_)(.*?)$"],
  ...[
    "reporter",
    "source_namespace",
    "source_workload",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_namespace",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_service_name",
    "destination_service_namespace",
    "destination_port",
    "destination_cluster",
    "request_protocol",
    "request_operation",
    "request_host",
    "response_flags",
    "grpc_response_status",
    "connection_security_policy",
    "source_canonical_service",
    "destination_canonical_service",
    "source_canonical_revision",
    "destination_canonical_revision",
  ].map((label) => [label, `(${label}=\\.=(.*?);\\.;)`] as const),
  ["cache", "(cache\\.(.+?)\\.)"],
  ["component", "(component\\.(.+?)\\.)"],
  ["tag", "(tag\\.(.+?);\\.)"],
  ["wasm_filter", "(wasm_filter\\.(.+?)\\.)"],
  ["authz_enforce_result", "rbac(\\.(allowed|denied))"],
  ["authz_dry_run_action", "(\\.istio_dry_run_(allow|deny)_)"],
  ["authz_dry_run_result", "(\\.shadow_(allowed|denied))"],
];

/** Istio's default `stats_matcher.inclusion_list`: only these Envoy stats are kept. */
export const ISTIO_STATS_INCLUSION: ReadonlyArray<{ prefix: string } | { suffix: string }> = [
  { prefix: "reporter=" },
  { prefix: "cluster_manager" },
  { prefix: "listener_manager" },
  { prefix: "server" },
  { prefix: "cluster.xds-grpc" },
  { prefix: "wasm" },
  { suffix: "rbac.allowed" },
  { suffix: "rbac.denied" },
  { suffix: "shadow_allowed" },
  { suffix: "shadow_denied" },
  { prefix: "component" },
];

export function istioStatsConfig(): MessageInitShape<typeof StatsConfigSchema> {
  return {
    useAllDefaultTags: false,
    statsTags: ISTIO_STATS_TAGS.map(([tagName, regex]) => ({ tagName, tagValue: { case: "regex", value: regex } })),
    statsMatcher: {
      statsMatcher: {
        case: "inclusionList",
        value: {
          patterns: ISTIO_STATS_INCLUSION.map((p) =>
            "prefix" in p ? { matchPattern: { case: "prefix", value: p.prefix } } : { matchPattern: { case: "suffix", value: p.suffix } },
          ),
        },
      },
    },
  };
}
