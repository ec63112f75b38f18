// Raw HTTP/1.1 over a plain socket: the request bytes exactly as given (a
// client library would fix or refuse them), the response as received.
import * as net from "node:net";

export interface RawResponse {
  /** Status code of the first response, 0 when none arrived. */
  status: number;
  raw: string;
  /** The server closed the connection (within the wait). */
  closed: boolean;
}

/**
 * Writes `request` (latin1) and collects what comes back until the server
 * closes or `waitMs` passes with the connection still open.
 */
export function rawRequest(port: number, request: string | Buffer, waitMs = 3000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(typeof request === "string" ? Buffer.from(request, "latin1") : request));
    let raw = "";
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: m ? Number(m[1]) : 0, raw, closed });
    };
    const t = setTimeout(() => finish(false), waitMs);
    s.setEncoding("latin1");
    s.on("data", (d: string) => (raw += d));
    s.on("close", () => finish(true));
    s.on("error", () => finish(true));
  });
}
