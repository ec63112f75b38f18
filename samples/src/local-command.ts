import { SampleError } from "./common/sample-error.js";

/** The pod-template annotation naming the command `weftctl local up` runs for a pod. */
export const LOCAL_COMMAND_ANNOTATION = "weft.dev/local-command";

/**
 * The variables a local command may reference as `${NAME}`; weftctl also sets
 * each of them in the process environment. See samples/README.md for values.
 */
export const LOCAL_COMMAND_VARIABLES = [
  "WEFT_SAMPLES",
  "NODE",
  "PORT",
  "BIND_ADDRESS",
  "POD_IP",
  "POD_NAME",
  "POD_NAMESPACE",
  "SERVICE_ACCOUNT",
] as const;

export type LocalCommandVariable = (typeof LOCAL_COMMAND_VARIABLES)[number];

/**
 * The reference reading of the annotation (weftctl implements the same contract
 * on its side; this one keeps the samples honest in tests): a JSON array of one
 * or more non-empty strings, the argv to exec without a shell; in each element
 * `${NAME}` is replaced by the variable's value and `$$` by a literal `$`. An
 * unknown or unset variable is an error naming it.
 */
export function parseLocalCommand(value: string, vars: Partial<Record<LocalCommandVariable, string>>, where = LOCAL_COMMAND_ANNOTATION): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new SampleError(`${where} must be a JSON array of strings, e.g. ["node", "\${WEFT_SAMPLES}/dist/bin/httpbin.js"]: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === "string" && a !== "")) {
    throw new SampleError(`${where} must be a non-empty JSON array of non-empty strings, got ${value}`);
  }
  return (parsed as string[]).map((arg) =>
    arg.replace(/\$\$|\$\{([^}]*)\}/g, (match, name: string | undefined) => {
      if (match === "$$") return "$";
      if (!(LOCAL_COMMAND_VARIABLES as readonly string[]).includes(name!)) {
        throw new SampleError(`${where} references unknown variable \${${name}}; known: ${LOCAL_COMMAND_VARIABLES.join(", ")}`);
      }
      const v = vars[name as LocalCommandVariable];
      if (v === undefined) throw new SampleError(`${where} references \${${name}}, which has no value here`);
      return v;
    }),
  );
}
