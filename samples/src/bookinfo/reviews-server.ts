import http from "node:http";
import { pickHeaders, REVIEWS_FORWARDED_HEADERS } from "../common/forward-headers.js";
import { sendJson, splitUrl } from "../common/http-util.js";
import type { Logger } from "../common/logger.js";
import { SampleError } from "../common/sample-error.js";
import type { UpstreamClient } from "../common/upstream-client.js";
import { REVIEWS } from "./catalog.js";

/** What distinguishes the three reviews images. */
export interface ReviewsFlavor {
  /** v2 and v3 call ratings; v1 does not (ENABLE_RATINGS in the original). */
  ratingsEnabled: boolean;
  /** STAR_COLOR: black for v2, red for v3. */
  starColor: string;
  /**
   * Deadline of the ratings call. The original hard-codes 10 s for black stars
   * and 2.5 s for red ones; that 10 s (longer than productpage's 3 s) is the
   * flaw Istio's fault-injection task exposes with a 7 s delay.
   */
  ratingsTimeoutMs: number;
}

/** The flavor of a version name, as the images bake it in; env may override (see README). */
export function reviewsFlavor(version: string, env: NodeJS.ProcessEnv = {}): ReviewsFlavor {
  const base: Record<string, { ratingsEnabled: boolean; starColor: string }> = {
    v1: { ratingsEnabled: false, starColor: "black" },
    v2: { ratingsEnabled: true, starColor: "black" },
    v3: { ratingsEnabled: true, starColor: "red" },
  };
  const known = base[version];
  if (!known) throw new SampleError(`reviews version must be v1, v2 or v3, got "${version}"`);
  const ratingsEnabled = env.ENABLE_RATINGS !== undefined && env.ENABLE_RATINGS !== "" ? env.ENABLE_RATINGS.toLowerCase() === "true" : known.ratingsEnabled;
  const starColor = env.STAR_COLOR || known.starColor;
  const ratingsTimeoutMs = starColor === "black" ? 10_000 : 2_500;
  return { ratingsEnabled, starColor, ratingsTimeoutMs };
}

export interface ReviewsOptions extends ReviewsFlavor {
  logger: Logger;
  client: UpstreamClient;
  /** Base URL of ratings, e.g. http://ratings:9080. */
  ratingsUrl: string;
  /** Reported as "podname" (HOSTNAME in the original). */
  podName: string;
  /** Reported as "clustername"; the original prints Java's "null" when CLUSTER_NAME is unset. */
  clusterName?: string;
}

/**
 * Bookinfo's reviews service: GET /reviews/{id} → the two reviews, with
 * `rating: {stars, color}` per reviewer when ratings is enabled and answers, or
 * `rating: {error: "Ratings service is currently unavailable"}` when it fails or
 * times out. The tracing headers and end-user are forwarded to ratings.
 */
export function createReviewsServer(options: ReviewsOptions): http.Server {
  async function fetchRatings(productId: number, headers: Record<string, string>): Promise<Record<string, number> | undefined> {
    const url = `${options.ratingsUrl}/ratings/${productId}`;
    try {
      const res = await options.client.get(url, { headers, timeoutMs: options.ratingsTimeoutMs });
      if (res.status !== 200) {
        options.logger.warn({ url, status: res.status }, "ratings answered with an error status");
        return undefined;
      }
      const body = JSON.parse(res.body) as { ratings?: Record<string, number> };
      return body.ratings ?? {};
    } catch (err) {
      options.logger.warn({ url, err: (err as Error).message }, "unable to contact ratings");
      return undefined;
    }
  }

  return http.createServer((req, res) => {
    const { path } = splitUrl(req);
    options.logger.debug({ method: req.method, path }, "request");
    if (path === "/health") return sendJson(res, 200, { status: "Reviews is healthy" });
    const m = /^\/reviews\/([^/]+)$/.exec(path);
    // The original's JAX-RS int path parameter: anything else is not a route (404).
    if (!m || !/^-?\d+$/.test(m[1]!)) return sendJson(res, 404, { error: `no route for ${path}` });
    const productId = Number(m[1]);

    void (async () => {
      let ratings: Record<string, number> | undefined;
      if (options.ratingsEnabled) ratings = await fetchRatings(productId, pickHeaders(req.headers, REVIEWS_FORWARDED_HEADERS));
      const reviews = REVIEWS.map((r) => {
        if (!options.ratingsEnabled) return { reviewer: r.reviewer, text: r.text };
        const stars = ratings?.[r.reviewer];
        // -1 in the original means "no rating": a failed call, or a reviewer ratings does not know.
        const rating = stars !== undefined ? { stars, color: options.starColor } : { error: "Ratings service is currently unavailable" };
        return { reviewer: r.reviewer, text: r.text, rating };
      });
      sendJson(res, 200, {
        id: String(productId),
        podname: options.podName,
        clustername: options.clusterName ?? "null",
        reviews,
      });
    })();
  });
}
