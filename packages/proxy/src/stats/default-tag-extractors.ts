// Envoy's default tag extractors (source/common/config/well_known_names.cc),
// applied when stats_config.use_all_default_tags is unset or true. Two kinds,
// as in Envoy: regexes whose first capture group is removed from the name and
// whose second group is the tag value, and dot-token patterns where `$` is the
// value token, `*` any one token and `**` the rest.

export type DefaultTagDescriptor =
  | { name: string; kind: "regex"; regex: string; substr?: string; negativeMatch?: string }
  | { name: string; kind: "tokens"; pattern: string };

const TAG_VALUE = String.raw`[^\.]+`;
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const CIPHER = String.raw`[\w-]+`;
const LISTENER_OR_CLUSTER = String.raw`(?:listener|cluster)\..*?`;

function re(name: string, regex: string, substr?: string, negativeMatch?: string): DefaultTagDescriptor {
  const expanded = regex
    .replaceAll("<TAG_VALUE>", TAG_VALUE)
    .replaceAll("<ADDRESS>", ADDRESS)
    .replaceAll("<CIPHER>", CIPHER)
    .replaceAll("<TLS_VERSION>", String.raw`TLSv\d\.\d`)
    .replaceAll("<ROUTE_CONFIG_NAME>", String.raw`[\w\-.]+`)
    .replaceAll("<LISTENER_OR_CLUSTER_WITH_NAME>", LISTENER_OR_CLUSTER);
  return { name, kind: "regex", regex: expanded, substr, negativeMatch };
}

function tokens(name: string, pattern: string): DefaultTagDescriptor {
  return { name, kind: "tokens", pattern };
}

/** In Envoy's order (most specific first). Tag names are Envoy's `envoy.*` names. */
export const DEFAULT_TAG_EXTRACTORS: readonly DefaultTagDescriptor[] = [
  re("envoy.response_code", String.raw`_rq(_(\d{3}))$`, "_rq_"),
  re("envoy.response_code_class", String.raw`_rq_((\d))xx$`, "_rq_"),
  re(
    "envoy.dynamo_partition_id",
    String.raw`^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`,
    ".dynamodb.table.",
  ),
  re(
    "envoy.dyanmo_operation",
    String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`,
    ".dynamodb.",
  ),
  tokens("envoy.mongo_callsite", "mongo.*.collection.*.callsite.$.query.**"),
  re("envoy.dynamo_table", String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`, ".dynamodb."),
  tokens("envoy.mongo_collection", "mongo.*.collection.$.**.query.*"),
  tokens("envoy.mongo_cmd", "mongo.*.cmd.$.**"),
  tokens("envoy.grpc_bridge_method", "cluster.*.grpc.*.$.**"),
  tokens("envoy.http_user_agent", "http.*.user_agent.$.**"),
  tokens("envoy.virtual_cluster", "vhost.*.vcluster.$.**"),
  tokens("envoy.fault_downstream_cluster", "http.*.fault.$.**"),
  re("envoy.ssl_cipher", String.raw`^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  re("envoy.ssl_curve", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.curves(\.(<CIPHER>))$`, ".ssl.curves."),
  re("envoy.ssl_sigalg", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.sigalgs(\.(<CIPHER>))$`, ".ssl.sigalgs."),
  re("envoy.ssl_version", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.versions(\.(<TLS_VERSION>))$`, ".ssl.versions."),
  re("envoy.ssl_cipher_suite", String.raw`^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  tokens("envoy.grpc_bridge_service", "cluster.*.grpc.$.**"),
  tokens("envoy.tcp_prefix", "tcp.$.**"),
  tokens("envoy.udp_prefix", "udp.$.**"),
  tokens("envoy.clientssl_prefix", "auth.clientssl.$.**"),
  tokens("envoy.ratelimit_prefix", "ratelimit.$.**"),
  tokens("envoy.cluster_name", "cluster.$.**"),
  re("envoy.http_conn_manager_prefix", String.raw`^listener\..*?\.http\.((<TAG_VALUE>)\.)`, ".http."),
  tokens("envoy.ext_authz_prefix", "cluster.*.ext_authz.$.**"),
  tokens("envoy.ext_authz_prefix", "http.*.ext_authz.$.**"),
  tokens("envoy.http_conn_manager_prefix", "http.$.**"),
  re(
    "envoy.worker_id",
    String.raw`^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)\.|server\.|listener_manager\.)worker_((\d+)\.)`,
  ),
  re("envoy.listener_address", String.raw`^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`, undefined, "admin"),
  tokens("envoy.virtual_host", "vhost.$.**"),
  tokens("envoy.mongo_prefix", "mongo.$.**"),
  re("envoy.rds_route_config", String.raw`^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`, ".rds."),
  tokens("envoy.route", "vhost.*.route.$.**"),
  tokens("envoy.thrift_prefix", "thrift.$.**"),
  tokens("envoy.redis_prefix", "redis.$.**"),
  tokens("envoy.local_http_ratelimit_prefix", "$.http_local_rate_limit.**"),
  tokens("envoy.local_network_ratelimit_prefix", "local_rate_limit.$.**"),
  tokens("envoy.local_listener_ratelimit_prefix", "listener_local_ratelimit.$.**"),
  tokens("envoy.dns_filter_prefix", "dns_filter.$.**"),
];
