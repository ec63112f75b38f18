// Helpers for the tests that run the built weft-proxy with --concurrency N
// (bin/concurrency*.test.ts): the bundle they start, the two kinds of worker
// with the reason one can't run here, requests on fresh connections (so the
// kernel or node:cluster hands each to a worker anew) and reading /stats.
import { existsSync } from "node:fs";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { reusePortUnavailableReason } from "../listener/reuse-port.js";

export { freePort } from "./httpbin.js";

export const PROXY_BUNDLE = fileURLToPath(new URL("../../dist/bundle/weft-proxy.mjs", import.meta.url));

export type WorkerKindName = "threads" | "processes";

/** Both kinds of worker, each with why it is skipped here (undefined: it runs). */
export function workerKinds(): Array<{ kind: WorkerKindName; skip: string | undefined }> {
  const built = existsSync(PROXY_BUNDLE) ? undefined : `${PROXY_BUNDLE} is not built (npx nx run proxy:build)`;
  const noThreads = reusePortUnavailableReason();
  return [
    { kind: "threads", skip: built ?? (noThreads && `worker threads need SO_REUSEPORT listeners: ${noThreads}`) },
    { kind: "processes", skip: built },
  ];
}

/** One request on a fresh connection. */
export function freshRequest(port: number, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A counter or gauge from the admin /stats text (NaN when absent). */
export function statValue(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}
