import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { validateMessage } from "@weft/xds-api";
import { ClusterSchema, type Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb";
import { ListenerSchema, type Listener } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { RouteConfigurationSchema, type RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb";
import { ResourceRejectedError, type AccessLoggerFactory } from "../contracts.js";
import { createDefaultHttpFilters } from "../http/filters/default-filters.js";
import { compileAssignment } from "../runtime/compile-endpoints.js";
import { compileCluster } from "../runtime/compile-cluster.js";
import { compileListener } from "../runtime/compile-listener.js";
import { compileRouteConfig } from "../runtime/compile-route-config.js";

export interface ResourcesToCheck {
  clusters?: Cluster[];
  listeners?: Listener[];
  routes?: RouteConfiguration[];
  endpoints?: ClusterLoadAssignment[];
}

export interface CheckDeps {
  accessLogs: AccessLoggerFactory;
  reportUnsupported(fieldPath: string, detail?: string): void;
}

/** A resource that failed: its kind, name and the field at fault. */
export interface ResourceProblem {
  kind: "cluster" | "listener" | "route" | "endpoints";
  name: string;
  field: string;
  message: string;
}

function protoIssues<D extends DescMessage>(schema: D, msg: MessageShape<D>, kind: ResourceProblem["kind"], name: string, prefix: string): ResourceProblem[] {
  return validateMessage(schema, msg).map((i) => ({ kind, name, field: prefix + i.path, message: i.message }));
}

function compileProblem(kind: ResourceProblem["kind"], name: string, prefix: string, fn: () => unknown): ResourceProblem[] {
  try {
    fn();
    return [];
  } catch (err) {
    if (err instanceof ResourceRejectedError) {
      const head = `${err.resourceName}: ${err.fieldPath ? err.fieldPath + ": " : ""}`;
      const reason = err.message.startsWith(head) ? err.message.slice(head.length) : err.message;
      return [{ kind, name: err.resourceName || name, field: prefix + err.fieldPath, message: reason }];
    }
    return [{ kind, name, field: prefix, message: (err as Error).message }];
  }
}

/**
 * What `--mode validate` does to each resource: the protos' validation rules
 * (PGV), then the data path's own compilers — the same code `apply` runs —
 * without binding a socket or touching live state.
 */
export function checkResources(resources: ResourcesToCheck, deps: CheckDeps, pathPrefix: (kind: ResourceProblem["kind"], index: number) => string = () => ""): ResourceProblem[] {
  const problems: ResourceProblem[] = [];
  const filters = createDefaultHttpFilters();
  const compileDeps = { filters, accessLogs: deps.accessLogs, report: deps.reportUnsupported };
  (resources.clusters ?? []).forEach((c, i) => {
    const prefix = pathPrefix("cluster", i);
    const issues = protoIssues(ClusterSchema, c, "cluster", c.name, prefix);
    problems.push(...(issues.length ? issues : compileProblem("cluster", c.name, prefix, () => compileCluster(c, deps.reportUnsupported))));
  });
  (resources.endpoints ?? []).forEach((e, i) => {
    const prefix = pathPrefix("endpoints", i);
    const issues = protoIssues(ClusterLoadAssignmentSchema, e, "endpoints", e.clusterName, prefix);
    problems.push(...(issues.length ? issues : compileProblem("endpoints", e.clusterName, prefix, () => compileAssignment(e, e.clusterName, "", false))));
  });
  (resources.listeners ?? []).forEach((l, i) => {
    const prefix = pathPrefix("listener", i);
    const issues = protoIssues(ListenerSchema, l, "listener", l.name, prefix);
    problems.push(...(issues.length ? issues : compileProblem("listener", l.name, prefix, () => compileListener(l, compileDeps))));
  });
  (resources.routes ?? []).forEach((r, i) => {
    const prefix = pathPrefix("route", i);
    const issues = protoIssues(RouteConfigurationSchema, r, "route", r.name, prefix);
    problems.push(...(issues.length ? issues : compileProblem("route", r.name, prefix, () => compileRouteConfig(r, { filters, report: deps.reportUnsupported }))));
  });
  return problems;
}
