import { pino, type Logger } from "pino";

/** A silent pino logger for tests. */
export function quietLogger(): Logger {
  return pino({ level: "silent" });
}
