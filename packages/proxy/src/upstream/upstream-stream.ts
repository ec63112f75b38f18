// The protocol-neutral shape of one upstream request, shared by the HTTP/1.1
// pools (lean-http1-pool.ts on net sockets, http1-pool.ts on undici) and the
// HTTP/2 pool (node:http2). A pool may call onHeaders, onData and onEnd in one
// synchronous run when the whole response was read at once.
import type { Readable } from "node:stream";
import type { UpstreamTlsIdentity } from "../tls/upstream-tls.js";

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamRequest {
  method: string;
  /** Path with query, after rewrites. */
  path: string;
  authority: string;
  scheme: string;
  /** Lower-case names, no pseudo-headers, no hop-by-hop headers. */
  headers: UpstreamHeaders;
  /** Request body, or null when the request has none. */
  body: Readable | null;
  /** Called with each request body chunk as it goes upstream (BYTES_RECEIVED, gRPC message counts). */
  onBodyChunk?: (chunk: Buffer) => void;
}

/** Why an upstream request failed; maps onto Envoy's reset reasons and response flags. */
export type UpstreamFailure =
  | "connection_failure" // UF
  | "connection_termination" // UC
  | "reset" // UR
  | "refused_stream" // UR (HTTP/2 REFUSED_STREAM before any response: safe to retry)
  | "overflow"; // UO

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly failure: UpstreamFailure,
    /** Envoy's transport failure reason, e.g. `delayed connect error: 111`. */
    readonly transportReason: string,
    options?: { cause?: unknown },
  ) {
    super(`${failure}${transportReason ? ": " + transportReason : ""}`, options);
  }
}

export interface UpstreamHandler {
  /** `endStream` when the response has no body (HTTP/2 trailers-only, HEAD, 204…). */
  onHeaders(status: number, headers: UpstreamHeaders, endStream: boolean): void;
  /**
   * Return false to ask for a pause; resume() is called on the stream later. The chunk is the
   * handler's to keep (a queued downstream write, a buffered body): pools that read into a
   * reused buffer hand over a copy.
   */
  onData(chunk: Buffer): boolean;
  onEnd(trailers: UpstreamHeaders | undefined): void;
  onError(err: UpstreamError): void;
}

export interface UpstreamStream {
  /** Local address of the upstream connection, once known. */
  localAddress(): string | undefined;
  /** Who the upstream TLS connection's ends are (istio.stats' client-side principals); undefined for plaintext. */
  upstreamTls?(): UpstreamTlsIdentity | undefined;
  resume(): void;
  abort(): void;
}

export interface ConnectionPool {
  request(req: UpstreamRequest, handler: UpstreamHandler): UpstreamStream;
  close(): Promise<void>;
}

/** Map a Node/undici socket error onto an Envoy transport failure reason. */
export function transportReasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code;
  if (code === "ECONNREFUSED") return "delayed connect error: 111";
  if (code === "EHOSTUNREACH") return "delayed connect error: 113";
  if (code === "ENETUNREACH") return "delayed connect error: 101";
  if (code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT") return "connect timeout";
  if (code === "ENOENT") return "delayed connect error: 2";
  // The TLS transport socket's own text (`TLS_error:|…:TLS_error_end`).
  const tlsReason = (err as { transportFailureReason?: string })?.transportFailureReason;
  if (tlsReason) return tlsReason;
  return e?.message ?? String(err);
}

export function isConnectError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  // A failed TLS handshake (or server verification) is a connect failure too: 503 UF.
  if ((err as { transportFailureReason?: string } | undefined)?.transportFailureReason !== undefined) return true;
  return (
    code === "ECONNREFUSED" ||
    code === "EHOSTUNREACH" ||
    code === "ENETUNREACH" ||
    code === "UND_ERR_CONNECT_TIMEOUT" ||
    code === "ETIMEDOUT" ||
    code === "ENOENT" ||
    code === "ERR_WEFT_UPSTREAM_TLS" ||
    code === "EADDRNOTAVAIL"
  );
}
