export type AgentErrorCode =
  | "invalid_env"
  | "invalid_proxy_config"
  | "invalid_argument"
  | "invalid_prober"
  | "proxy_binary_not_found"
  | "iptables_failed"
  | "validation_failed"
  | "certificate_unavailable"
  | "timeout";

/** The agent's one error class: a code for callers, a message that names the thing at fault. */
export class AgentError extends Error {
  override readonly name = "AgentError";
  constructor(
    readonly code: AgentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(err: unknown): AgentError {
    if (err instanceof AgentError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new AgentError("invalid_argument", message, { cause: err });
  }
}
