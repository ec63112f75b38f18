// envoy.config.rbac.v3.RBAC → an engine evaluated per request/connection.
// Envoy keeps policies in a map ordered by name and reports the first
// matching one as the effective policy id; ALLOW allows iff some policy
// matches, DENY denies iff some policy matches, LOG always allows.
import { RBAC_Action, type RBAC } from "@weft/xds-api/gen/envoy/config/rbac/v3/rbac_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import type { ConnInfo } from "../listener/conn-info.js";
import type { RequestContext } from "../http/request-context.js";
import type { AuthzMatch } from "./authz-input.js";
import { compilePermission, compilePrincipal } from "./rbac-matchers.js";

export interface RbacDecision {
  allowed: boolean;
  /** The first matching policy by name, "" when none matched. */
  policyId: string;
  /** LOG action: whether a policy matched (Envoy's access_log_hint). */
  log?: boolean;
}

export interface RbacEngine {
  readonly action: "ALLOW" | "DENY" | "LOG";
  readonly policyCount: number;
  evaluate(conn: ConnInfo, req: RequestContext | undefined): RbacDecision;
}

interface CompiledPolicy {
  name: string;
  permission: AuthzMatch;
  principal: AuthzMatch;
}

function anyOf(ms: AuthzMatch[]): AuthzMatch {
  return (c, r) => {
    for (const m of ms) if (m(c, r)) return true;
    return false;
  };
}

export function compileRbacEngine(rbac: RBAC, res: string, field: string): RbacEngine {
  const action = rbac.action === RBAC_Action.ALLOW ? "ALLOW" : rbac.action === RBAC_Action.DENY ? "DENY" : rbac.action === RBAC_Action.LOG ? "LOG" : undefined;
  if (!action) throw new ResourceRejectedError(res, `${field}.action`, `unknown action ${rbac.action}`);
  if (rbac.auditLoggingOptions && rbac.auditLoggingOptions.loggerConfigs.length > 0) {
    throw new ResourceRejectedError(res, `${field}.audit_logging_options`, "RBAC audit loggers are not implemented");
  }
  const policies: CompiledPolicy[] = Object.keys(rbac.policies)
    .sort()
    .map((name) => {
      const p = rbac.policies[name];
      const pf = `${field}.policies[${name}]`;
      if (p.condition || p.checkedCondition) throw new ResourceRejectedError(res, `${pf}.${p.condition ? "condition" : "checked_condition"}`, "CEL conditions are not implemented (fail closed)");
      if (p.permissions.length === 0) throw new ResourceRejectedError(res, `${pf}.permissions`, "must have at least one permission");
      if (p.principals.length === 0) throw new ResourceRejectedError(res, `${pf}.principals`, "must have at least one principal");
      return {
        name,
        permission: anyOf(p.permissions.map((x, i) => compilePermission(x, res, `${pf}.permissions[${i}]`))),
        principal: anyOf(p.principals.map((x, i) => compilePrincipal(x, res, `${pf}.principals[${i}]`))),
      };
    });
  const matchFirst = (conn: ConnInfo, req: RequestContext | undefined): string | undefined => {
    for (const p of policies) if (p.permission(conn, req) && p.principal(conn, req)) return p.name;
    return undefined;
  };
  return {
    action,
    policyCount: policies.length,
    evaluate(conn, req) {
      const hit = matchFirst(conn, req);
      if (action === "ALLOW") return { allowed: hit !== undefined, policyId: hit ?? "" };
      if (action === "DENY") return { allowed: hit === undefined, policyId: hit ?? "" };
      return { allowed: true, policyId: hit ?? "", log: hit !== undefined };
    },
  };
}
