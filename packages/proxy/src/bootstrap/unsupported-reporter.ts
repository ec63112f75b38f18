import type { Logger } from "pino";

export interface UnsupportedReporter {
  /** Logs one warning per field path, ever; never throws. */
  report(fieldPath: string, detail?: string): void;
  list(): Array<{ field: string; detail?: string }>;
}

export function createUnsupportedReporter(logger: Logger): UnsupportedReporter {
  const seen = new Map<string, string | undefined>();
  return {
    report(fieldPath, detail) {
      if (seen.has(fieldPath)) return;
      seen.set(fieldPath, detail);
      logger.warn({ field: fieldPath }, `not implemented, ignored: ${fieldPath}${detail ? ` (${detail})` : ""}`);
    },
    list: () => [...seen].map(([field, detail]) => ({ field, detail })),
  };
}
