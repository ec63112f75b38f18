import { pino, type Logger } from "pino";

export type { Logger };

/**
 * A sample app's logger: JSON lines on stdout (what `weftctl local logs <workload>`
 * shows), level from LOG_LEVEL. The default "info" prints one line at start-up
 * and nothing per request; LOG_LEVEL=debug logs every request.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = env.LOG_LEVEL ?? "info";
  return pino({ name, level }, pino.destination({ fd: 1, sync: true }));
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
