import * as xdsApi from "@weft/xds-api";
import { BootstrapSchema, type Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";
import { AgentError } from "../errors.js";

interface Issue {
  path: string;
  rule?: string;
  message: string;
}
type ValidateFn = (schema: typeof BootstrapSchema, message: Bootstrap) => Issue[];

/**
 * Runs @weft/xds-api's `validateMessage` (protoc-gen-validate rules, as Envoy checks a
 * bootstrap) when the installed xds-api exports it. Looked up at runtime so the agent
 * builds against an xds-api that predates validation; `hasMessageValidation()` says which.
 */
const validateMessage = (xdsApi as unknown as { validateMessage?: ValidateFn }).validateMessage;

export function hasMessageValidation(): boolean {
  return typeof validateMessage === "function";
}

export function bootstrapIssues(bootstrap: Bootstrap): Issue[] {
  return validateMessage ? validateMessage(BootstrapSchema, bootstrap) : [];
}

/** Throws an AgentError listing every violated rule of the bootstrap. */
export function validateBootstrap(bootstrap: Bootstrap): void {
  const issues = bootstrapIssues(bootstrap);
  if (issues.length > 0) {
    throw new AgentError("validation_failed", `generated bootstrap is invalid:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
  }
}
