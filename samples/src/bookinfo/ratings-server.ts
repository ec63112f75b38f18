import http from "node:http";
import { readBody, sendJson, splitUrl } from "../common/http-util.js";
import type { Logger } from "../common/logger.js";
import { DEFAULT_RATINGS } from "./catalog.js";

export interface RatingsOptions {
  logger: Logger;
  /**
   * SERVICE_VERSION as ratings.js reads it: "v-faulty" fails half the requests
   * with 503, "v-delayed" delays half of them by 7 s, "v-unavailable" always
   * answers 503; anything else (v1) is healthy.
   */
  serviceVersion?: string;
  random?: () => number;
  /** Delay of "v-delayed", 7 s as the original. */
  delayMs?: number;
}

/**
 * Bookinfo's ratings service (ratings.js, in-memory store): GET /ratings/{id}
 * → {"id": id, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}, POST /ratings/{id}
 * stores posted ratings for that id, GET /health.
 */
export function createRatingsServer(options: RatingsOptions): http.Server {
  const posted = new Map<number, Record<string, number>>();
  const random = options.random ?? Math.random;
  const version = options.serviceVersion ?? "v1";
  const delayMs = options.delayMs ?? 7000;

  return http.createServer((req, res) => {
    const { path } = splitUrl(req);
    options.logger.debug({ method: req.method, path }, "request");
    if (path === "/health") return sendJson(res, 200, { status: "Ratings is healthy" });
    const m = /^\/ratings\/([^/]*)$/.exec(path);
    if (!m) return sendJson(res, 404, { error: "invalid request" });
    const id = Number.parseInt(m[1]!, 10);
    if (Number.isNaN(id)) return sendJson(res, 400, { error: "please provide numeric product ID" });

    if (req.method === "POST") {
      readBody(req, 64 * 1024)
        .then((buf) => {
          const body: unknown = JSON.parse(buf.toString("utf8"));
          if (!body || typeof body !== "object" || Array.isArray(body)) throw new Error("body must be a JSON object");
          const ratings: Record<string, number> = {};
          for (const [k, v] of Object.entries(body)) if (typeof v === "number") ratings[k] = v;
          posted.set(id, ratings);
          sendJson(res, 200, { id, ratings });
        })
        .catch(() => sendJson(res, 400, { error: "please provide valid ratings JSON" }));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" });

    const answer = (): void => sendJson(res, 200, { id, ratings: posted.get(id) ?? DEFAULT_RATINGS });
    if (version === "v-unavailable" || (version === "v-faulty" && random() < 0.5)) {
      return sendJson(res, 503, { error: "Service unavailable" });
    }
    if (version === "v-delayed" && random() < 0.5) {
      const timer = setTimeout(answer, delayMs);
      res.once("close", () => clearTimeout(timer));
      return;
    }
    answer();
  });
}
