import http from "node:http";
import { sendJson, splitUrl } from "../common/http-util.js";
import type { Logger } from "../common/logger.js";
import { bookDetails } from "./catalog.js";

/**
 * Bookinfo's details service (details.rb): GET /details/{id} → the book's
 * details, a non-numeric id → 400 with an error, GET /health.
 */
export function createDetailsServer(options: { logger: Logger }): http.Server {
  return http.createServer((req, res) => {
    const { path } = splitUrl(req);
    options.logger.debug({ method: req.method, path }, "request");
    if (path === "/health") return sendJson(res, 200, { status: "Details is healthy" });
    if (path === "/details" || path.startsWith("/details/")) {
      const last = path.split("/").pop() ?? "";
      if (!/^-?\d+$/.test(last)) return sendJson(res, 400, { error: "please provide numeric product id" });
      return sendJson(res, 200, bookDetails(Number(last)));
    }
    sendJson(res, 404, { error: `no route for ${path}` });
  });
}
