import { connect as http2Connect, constants } from "node:http2";
import { connect } from "node:net";
import type { ProbeResult } from "./app-probers.js";

/** grpc.health.v1.HealthCheckRequest { string service = 1; } on the wire. */
function encodeRequest(service: string): Buffer {
  const s = Buffer.from(service, "utf8");
  const body = s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(body.length, 1); // uncompressed gRPC message prefix
  return Buffer.concat([frame, body]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Reads HealthCheckResponse.status (field 1, varint) from a gRPC-framed response body. */
function decodeStatus(body: Buffer): number | undefined {
  if (body.length < 5) return undefined;
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  let i = 0;
  while (i < msg.length) {
    const tag = msg[i++];
    let value = 0;
    let shift = 0;
    if ((tag & 7) !== 0) return undefined; // only varint fields in this message
    for (;;) {
      const b = msg[i++];
      value |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (tag >> 3 === 1) return value;
  }
  return 0; // proto3 default: UNKNOWN
}

const SERVING = 1;

/** Kubernetes' gRPC probe: grpc.health.v1.Health/Check over h2c; success only for SERVING. */
export function runGrpcProbe(host: string, port: number, service: string, timeoutMs: number, localAddress?: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const where = `grpc ${host}:${port}`;
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.close();
      session.destroy();
      resolve(r);
    };
    const session = http2Connect(`http://${host}:${port}`, { createConnection: () => connect({ host, port, localAddress }) });
    const timer = setTimeout(() => finish({ status: 500, detail: `${where}: timeout` }), timeoutMs);
    session.on("error", (e) => finish({ status: 500, detail: `${where}: ${e.message}` }));
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    const take = (h: Record<string, unknown>) => {
      if (h["grpc-status"] !== undefined) grpcStatus = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("error", (e) => finish({ status: 500, detail: `${where}: ${e.message}` }));
    req.on("end", () => {
      if (grpcStatus !== "0") return finish({ status: 500, detail: `${where}: grpc-status ${grpcStatus ?? "missing"} ${grpcMessage}`.trim() });
      const status = decodeStatus(Buffer.concat(chunks));
      finish(status === SERVING ? { status: 200, detail: "SERVING" } : { status: 500, detail: `${where}: health status ${status ?? "unreadable"}, not SERVING` });
    });
    req.end(encodeRequest(service));
  });
}
