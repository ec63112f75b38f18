import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { toEnvoyJson } from "@weft/xds-api";
import { ConfigDumpSchema } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb.js";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { stringify } from "yaml";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { LocalError } from "../local/errors.js";
import { formatTable } from "../local/status.js";
import { fetchAdmin } from "./admin-fetch.js";
import { CLUSTER_HEADER, clusterRows, parseClusterName } from "./cluster-table.js";
import { parseConfigDump } from "./config-dump.js";
import { ENDPOINT_HEADER, endpointRowsFromAdmin, endpointRowsFromAssignments, type AdminClusters } from "./endpoint-table.js";
import { LISTENER_HEADER, listenerRows } from "./listener-table.js";
import { clustersOf, endpointsOf, listenersOf, routesOf, secretsOf } from "./resources.js";
import { ROUTE_HEADER, routeRows } from "./route-table.js";
import { SECRET_HEADER, secretRows } from "./secret-table.js";

export const PROXY_CONFIG_USAGE = `Usage: weftctl proxy-config <listener|route|cluster|endpoint|secret|bootstrap|all> [WORKLOAD]
         [-o short|json|yaml] [--port P] [--fqdn F] [--direction D] [--subset S] [--name N]
         [--admin URL | -f CONFIG_DUMP_FILE]
  Reads the proxy's admin API (/config_dump, /clusters) and prints it as istioctl does.
  WORKLOAD is a workload of the local mesh (weftctl local status); --admin reads any proxy.
`;

const TYPES = new Set(["listener", "listeners", "route", "routes", "cluster", "clusters", "endpoint", "endpoints", "secret", "secrets", "bootstrap", "all"]);

function render<D extends DescMessage>(schema: D, items: ReadonlyArray<MessageShape<D>>, output: string): string {
  const json = items.map((m) => toEnvoyJson(schema, m));
  return output === "yaml" ? stringify(json) : JSON.stringify(json, null, 2) + "\n";
}

export async function runProxyConfig(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: "string", short: "o", default: "short" },
      port: { type: "string" },
      fqdn: { type: "string" },
      direction: { type: "string" },
      subset: { type: "string" },
      name: { type: "string" },
      address: { type: "string" },
      cluster: { type: "string" },
      status: { type: "string" },
      admin: { type: "string" },
      file: { type: "string", short: "f" },
    },
  });
  const [kind, workload] = positionals;
  if (!kind || !TYPES.has(kind)) {
    process.stdout.write(PROXY_CONFIG_USAGE);
    return kind ? 2 : 0;
  }
  const type = kind.replace(/s$/, "");
  const output = values.output ?? "short";
  if (!["short", "json", "yaml"].includes(output)) throw new LocalError(`-o ${output}: expected short, json or yaml`);
  const target = { admin: values.admin, workload };
  const text = values.file ? readFileSync(values.file, "utf8") : await fetchAdmin(target, "/config_dump?include_eds");
  const { dump, sections } = parseConfigDump(text, values.file ?? workload ?? values.admin);
  const write = (s: string) => void process.stdout.write(s);

  if (type === "all" && output !== "short") {
    write(output === "yaml" ? stringify(toEnvoyJson(ConfigDumpSchema, dump)) : JSON.stringify(toEnvoyJson(ConfigDumpSchema, dump), null, 2) + "\n");
    return 0;
  }
  if (type === "bootstrap") {
    const b = sections.bootstrap?.bootstrap;
    if (!b) throw new LocalError("the config dump has no bootstrap");
    const json = toEnvoyJson(BootstrapSchema, b);
    write(output === "yaml" ? stringify(json) : JSON.stringify(json, null, 2) + "\n");
    return 0;
  }
  if (type === "cluster" || type === "all") {
    const filter = { fqdn: values.fqdn, port: values.port, subset: values.subset, direction: values.direction };
    if (output === "short") write(formatTable(CLUSTER_HEADER, clusterRows(clustersOf(sections), filter)));
    else {
      const keep = (name: string) => {
        const k = parseClusterName(name);
        return (!filter.fqdn || k.fqdn === filter.fqdn) && (!filter.port || k.port === filter.port) && (!filter.subset || k.subset === filter.subset) && (!filter.direction || k.direction === filter.direction);
      };
      write(render(ClusterSchema, clustersOf(sections).filter((c) => keep(c.name)), output));
    }
    if (type === "all") write("\n");
  }
  if (type === "listener" || type === "all") {
    if (output === "short") write(formatTable(LISTENER_HEADER, listenerRows(listenersOf(sections), { port: values.port, address: values.address })));
    else write(render(ListenerSchema, listenersOf(sections), output));
    if (type === "all") write("\n");
  }
  if (type === "route" || type === "all") {
    if (output === "short") write(formatTable(ROUTE_HEADER, routeRows(routesOf(sections), { name: values.name })));
    else write(render(RouteConfigurationSchema, routesOf(sections).filter((r) => !values.name || r.name === values.name), output));
    if (type === "all") write("\n");
  }
  if (type === "endpoint") {
    const filter = { cluster: values.cluster, address: values.address, port: values.port, status: values.status };
    if (output !== "short") write(render(ClusterLoadAssignmentSchema, endpointsOf(sections).filter((e) => !filter.cluster || e.clusterName === filter.cluster), output));
    else if (values.file) write(formatTable(ENDPOINT_HEADER, endpointRowsFromAssignments(endpointsOf(sections), filter)));
    else write(formatTable(ENDPOINT_HEADER, endpointRowsFromAdmin(JSON.parse(await fetchAdmin(target, "/clusters?format=json")) as AdminClusters, filter)));
  }
  if (type === "secret" || type === "all") {
    if (output === "short") write(formatTable(SECRET_HEADER, secretRows(secretsOf(sections))));
    else {
      const json = secretsOf(sections).map((x) => ({ name: x.name, status: x.active ? "ACTIVE" : "WARMING", secret: x.secret ? toEnvoyJson(SecretSchema, x.secret) : null }));
      write(output === "yaml" ? stringify(json) : JSON.stringify(json, null, 2) + "\n");
    }
  }
  return 0;
}
