import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { pickHeaders, PRODUCTPAGE_FORWARDED_HEADERS } from "../common/forward-headers.js";
import { readBody, sendJson, sendText, splitUrl } from "../common/http-util.js";
import type { Logger } from "../common/logger.js";
import type { UpstreamClient, UpstreamResponse } from "../common/upstream-client.js";
import { PRODUCTS } from "./catalog.js";
import { BOOKINFO_CSS, renderIndexPage, renderProductPage, type ReviewsBody } from "./productpage-html.js";
import { readCookie, SESSION_COOKIE, type SessionCodec } from "./session.js";

export interface ProductpageOptions {
  logger: Logger;
  client: UpstreamClient;
  /** Base URLs of the upstreams, e.g. http://details:9080. */
  detailsUrl: string;
  reviewsUrl: string;
  ratingsUrl: string;
  sessions: SessionCodec;
  /**
   * Deadline of each upstream call: 3 s in the original (requests' timeout=3.0).
   * The reviews call is tried twice, so the page gives up on reviews after
   * about 2 × this.
   */
  upstreamTimeoutMs?: number;
}

const KNOWN_PATHS = new Set(["/", "/index.html", "/health", "/productpage", "/login", "/logout", "/api/v1/products", "/static/bookinfo.css", "/metrics"]);

type Fetched = { status: number; body: Record<string, unknown> };

/**
 * Bookinfo's productpage: the HTML page (details + reviews), the JSON API, and
 * sign-in. It forwards the tracing headers and, once a user signed in, sends
 * `end-user: <user>` on every upstream call, which the reviews-test-v2 and
 * ratings fault rules match on.
 */
export function createProductpageServer(options: ProductpageOptions): http.Server {
  const timeoutMs = options.upstreamTimeoutMs ?? 3000;
  const counts = new Map<string, number>();

  async function call(url: string, headers: Record<string, string>): Promise<UpstreamResponse | undefined> {
    try {
      return await options.client.get(url, { headers, timeoutMs });
    } catch (err) {
      options.logger.warn({ url, err: (err as Error).message }, "upstream call failed");
      return undefined;
    }
  }

  // The original: one try, 200 with the JSON, else the upstream's status (500
  // when there was no answer) and a fixed error text.
  async function fetchJson(base: string, path: string, headers: Record<string, string>, what: string, attempts = 1): Promise<Fetched> {
    let res: UpstreamResponse | undefined;
    for (let i = 0; i < attempts; i++) {
      res = await call(`${base}${path}`, headers);
      if (res && res.status === 200) {
        try {
          return { status: 200, body: JSON.parse(res.body) as Record<string, unknown> };
        } catch {
          options.logger.warn({ url: `${base}${path}` }, "upstream answered 200 with a body that is not JSON");
        }
      }
    }
    const status = res && res.status ? (res.status === 200 ? 500 : res.status) : 500;
    return { status, body: { error: `Sorry, product ${what} are currently unavailable for this book.` } };
  }

  const details = (id: string, h: Record<string, string>): Promise<Fetched> => fetchJson(options.detailsUrl, `/details/${id}`, h, "details");
  // Tried twice, 3 s each: the "bug introduced explicitly for illustration in
  // the fault injection task" that keeps reviews' 10 s ratings timeout visible.
  const reviews = (id: string, h: Record<string, string>): Promise<Fetched> => fetchJson(options.reviewsUrl, `/reviews/${id}`, h, "reviews", 2);
  const ratings = (id: string, h: Record<string, string>): Promise<Fetched> => fetchJson(options.ratingsUrl, `/ratings/${id}`, h, "ratings");

  function sessionUser(req: IncomingMessage): string | undefined {
    return options.sessions.decode(readCookie(req.headers.cookie, SESSION_COOKIE));
  }

  function forwardHeaders(req: IncomingMessage): Record<string, string> {
    const headers = pickHeaders(req.headers, PRODUCTPAGE_FORWARDED_HEADERS);
    const user = sessionUser(req);
    if (user) headers["end-user"] = user;
    return headers;
  }

  function redirectBack(req: IncomingMessage, res: ServerResponse, cookie: string): void {
    const referer = req.headers.referer;
    res.writeHead(302, { location: referer || "/productpage", "set-cookie": cookie, "content-type": "text/html; charset=utf-8", "content-length": 0 });
    res.end();
  }

  async function productPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers = forwardHeaders(req);
    const productId = 0;
    const d = await details(String(productId), headers);
    const r = await reviews(String(productId), headers);
    const html = renderProductPage({
      product: PRODUCTS[productId],
      user: sessionUser(req),
      detailsStatus: d.status,
      details: d.body,
      reviewsStatus: r.status,
      reviews: r.body as ReviewsBody,
    });
    sendText(res, 200, html, "text/html; charset=utf-8");
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? "GET";
    if (path === "/" || path === "/index.html") return sendText(res, 200, renderIndexPage(), "text/html; charset=utf-8");
    if (path === "/health") return sendText(res, 200, "Product page is healthy");
    if (path === "/productpage") return productPage(req, res);
    if (path === "/login") {
      if (method !== "POST") return sendText(res, 405, "Method Not Allowed");
      const form = new URLSearchParams((await readBody(req, 64 * 1024)).toString("utf8"));
      const user = form.get("username") ?? splitUrl(req).query.get("username") ?? "";
      if (!user) return redirectBack(req, res, `${SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0`);
      return redirectBack(req, res, `${SESSION_COOKIE}=${options.sessions.encode(user)}; Path=/; HttpOnly; SameSite=Lax`);
    }
    if (path === "/logout") return redirectBack(req, res, `${SESSION_COOKIE}=; Path=/; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
    if (path === "/api/v1/products") return sendJson(res, 200, PRODUCTS);
    const api = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path);
    if (api) {
      const id = encodeURIComponent(decodeURIComponent(api[1]!));
      const fetch = api[2] === "reviews" ? reviews : api[2] === "ratings" ? ratings : details;
      const out = await fetch(id, forwardHeaders(req));
      return sendJson(res, out.status, out.body);
    }
    if (path === "/static/bookinfo.css") return sendText(res, 200, BOOKINFO_CSS, "text/css; charset=utf-8");
    if (path === "/metrics") return sendText(res, 200, metricsText(counts), "text/plain; version=0.0.4; charset=utf-8");
    sendText(res, 404, "Not Found");
  }

  return http.createServer((req, res) => {
    const { path } = splitUrl(req);
    options.logger.debug({ method: req.method, path }, "request");
    // Known routes only, so a scan of random paths cannot grow the label set.
    const label = KNOWN_PATHS.has(path) ? path : path.startsWith("/api/v1/products/") ? "/api/v1/products/{id}" : "other";
    counts.set(label, (counts.get(label) ?? 0) + 1);
    route(req, res, path).catch((err: unknown) => {
      options.logger.error({ err, path }, "request failed");
      if (res.headersSent) res.destroy();
      else sendText(res, 500, "Internal Server Error");
    });
  });
}

function metricsText(counts: Map<string, number>): string {
  const lines = ["# HELP productpage_requests_total Requests productpage received, by path.", "# TYPE productpage_requests_total counter"];
  for (const [path, n] of counts) lines.push(`productpage_requests_total{path="${path}"} ${n}`);
  return `${lines.join("\n")}\n`;
}
