import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import { BodyTooLargeError, readBody, sendJson, sendText, splitUrl } from "../common/http-util.js";
import type { Logger } from "../common/logger.js";
import { HTTPBIN_INDEX_HTML } from "./index-page.js";
import { describeBody, multiDict, origin, reportedHeaders, requestUrl } from "./request-info.js";
import { chooseStatus, statusExtras } from "./status-response.js";

export interface HttpbinOptions {
  logger: Logger;
  /** What /hostname reports: the pod name in Kubernetes (HOSTNAME). */
  hostname: string;
  /** Longest /delay in seconds; httpbin caps at 10. */
  maxDelaySeconds?: number;
}

// httpbin answers every route with permissive CORS so browsers can call it.
const CORS = { "access-control-allow-origin": "*", "access-control-allow-credentials": "true" };

type Handler = (req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams) => void | Promise<void>;

/**
 * A request handler with httpbin's routes and JSON shapes (pretty-printed, keys
 * of `headers` sorted and title-cased, as python httpbin answers), the subset
 * Istio's tasks use.
 */
export function createHttpbinHandler(options: HttpbinOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxDelay = options.maxDelaySeconds ?? 10;
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void =>
    sendJson(res, status, body, true, { ...CORS, ...headers });

  const withBody = async (req: IncomingMessage, query: URLSearchParams, extra: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const body = describeBody(await readBody(req), req.headers["content-type"]);
    return {
      args: multiDict(query),
      data: body.data,
      files: body.files,
      form: body.form,
      headers: reportedHeaders(req),
      json: body.json,
      ...extra,
      origin: origin(req),
      url: requestUrl(req),
    };
  };

  const methods = (allowed: string[], handler: Handler): Handler => (req, res, rest, query) => {
    if (!allowed.includes(req.method ?? "GET")) {
      res.writeHead(405, { ...CORS, allow: allowed.join(", "), "content-type": "text/html; charset=utf-8" });
      res.end("<!DOCTYPE html>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n");
      return;
    }
    return handler(req, res, rest, query);
  };

  const routes: Record<string, Handler> = {
    "/": (_req, res) => sendText(res, 200, HTTPBIN_INDEX_HTML, "text/html; charset=utf-8", CORS),
    "/headers": (req, res) => json(res, 200, { headers: reportedHeaders(req) }),
    "/ip": (req, res) => json(res, 200, { origin: origin(req) }),
    "/user-agent": (req, res) => json(res, 200, { "user-agent": req.headers["user-agent"] ?? null }),
    "/uuid": (_req, res) => json(res, 200, { uuid: randomUUID() }),
    "/hostname": (_req, res) => json(res, 200, { hostname: options.hostname }),
    "/get": methods(["GET", "HEAD", "OPTIONS"], (req, res, _rest, query) =>
      json(res, 200, { args: multiDict(query), headers: reportedHeaders(req), origin: origin(req), url: requestUrl(req) }),
    ),
    "/post": methods(["POST"], async (req, res, _r, q) => json(res, 200, await withBody(req, q, {}))),
    "/put": methods(["PUT"], async (req, res, _r, q) => json(res, 200, await withBody(req, q, {}))),
    "/patch": methods(["PATCH"], async (req, res, _r, q) => json(res, 200, await withBody(req, q, {}))),
    "/delete": methods(["DELETE"], async (req, res, _r, q) => json(res, 200, await withBody(req, q, {}))),
    "/anything": async (req, res, _r, q) => json(res, 200, await withBody(req, q, { method: req.method })),
    "/status": (_req, res, rest) => {
      const choice = chooseStatus(decodeURIComponent(rest));
      if (!choice.ok) return sendText(res, 400, choice.reason, "text/html; charset=utf-8", CORS);
      const extras = statusExtras(choice.code);
      res.writeHead(choice.code, {
        ...CORS,
        ...extras.headers,
        "content-type": extras.contentType ?? "text/html; charset=utf-8",
        "content-length": Buffer.byteLength(extras.body),
      });
      res.end(extras.body);
    },
    "/delay": async (req, res, rest, q) => {
      const seconds = Number(rest);
      if (rest === "" || !Number.isFinite(seconds) || seconds < 0) {
        return sendText(res, 400, `Invalid delay "${rest}": expected a number of seconds`, "text/plain; charset=utf-8", CORS);
      }
      const body = await withBody(req, q, {});
      delete body.json;
      await waitUnlessClosed(res, Math.min(seconds, maxDelay) * 1000);
      if (!res.destroyed) json(res, 200, body);
    },
    "/response-headers": methods(["GET", "POST"], (_req, res, _rest, query) => {
      const headers: Record<string, string | string[]> = { "Content-Type": "application/json", ...multiDict(query) };
      // The body lists the response headers including Content-Length, which
      // depends on the body: iterate until the length is stable, as httpbin does.
      let text = "";
      for (let i = 0; i < 5; i++) {
        text = `${JSON.stringify(headers, null, 2)}\n`;
        const len = String(Buffer.byteLength(text));
        if (headers["Content-Length"] === len) break;
        headers["Content-Length"] = len;
      }
      const out: Record<string, string | string[]> = { ...CORS };
      for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
      out["content-length"] = String(Buffer.byteLength(text));
      res.writeHead(200, out);
      res.end(text);
    }),
  };

  return (req, res) => {
    const { path, query } = splitUrl(req);
    let handler = routes[path];
    let rest = "";
    if (!handler) {
      const m = /^(\/[^/]+)\/(.*)$/.exec(path);
      if (m && ["/status", "/delay", "/anything"].includes(m[1]!)) {
        handler = routes[m[1]!];
        rest = m[2]!;
      }
    }
    options.logger.debug({ method: req.method, path }, "request");
    if (!handler) {
      sendText(res, 404, "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n", "text/html; charset=utf-8", CORS);
      return;
    }
    Promise.resolve(handler(req, res, rest, query)).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof BodyTooLargeError) return sendText(res, 413, err.message, "text/plain; charset=utf-8", CORS);
      options.logger.error({ err, path }, "handler failed");
      sendText(res, 500, "Internal Server Error", "text/plain; charset=utf-8", CORS);
    });
  };
}

/** An http.Server serving httpbin. */
export function createHttpbinServer(options: HttpbinOptions): http.Server {
  return http.createServer(createHttpbinHandler(options));
}

function waitUnlessClosed(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    res.once("close", done);
    function done(): void {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    }
  });
}
