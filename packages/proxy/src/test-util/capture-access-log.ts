// An AccessLoggerFactory that records every StreamInfo, with a helper to wait for entries.
import type { AccessLoggerFactory, StreamInfo } from "../contracts.js";

export interface CapturedLogs {
  factory: AccessLoggerFactory;
  entries: StreamInfo[];
  /** Resolves with the first entry matching `pred` (already logged or future). */
  waitFor(pred: (i: StreamInfo) => boolean, timeoutMs?: number): Promise<StreamInfo>;
}

export function captureAccessLogs(): CapturedLogs {
  const entries: StreamInfo[] = [];
  const waiters: Array<{ pred: (i: StreamInfo) => boolean; resolve: (i: StreamInfo) => void }> = [];
  return {
    entries,
    factory: () => ({
      log(info) {
        entries.push(info);
        for (const w of waiters.splice(0)) {
          if (w.pred(info)) w.resolve(info);
          else waiters.push(w);
        }
      },
    }),
    waitFor(pred, timeoutMs = 5000) {
      const hit = entries.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no matching access log entry")), timeoutMs);
        waiters.push({ pred, resolve: (i) => (clearTimeout(t), resolve(i)) });
      });
    },
  };
}
