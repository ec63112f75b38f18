// Envoy's Grpc::Utility::httpToGrpcStatus: the gRPC status an HTTP status
// stands for when a response carries no grpc-status of its own.
const GRPC_STATUS_BY_HTTP: Record<number, string> = { 400: "13", 401: "16", 403: "7", 404: "12", 429: "14", 502: "14", 503: "14", 504: "14" };

/** The gRPC status for an HTTP status; anything unmapped is UNKNOWN (2). */
export function grpcStatusForHttp(status: number): string {
  return GRPC_STATUS_BY_HTTP[status] ?? "2";
}

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return typeof v === "string" ? v : v?.[0];
}

/** A gRPC call: its content-type is application/grpc (or a +proto/+json variant). */
export function isGrpcRequest(headers: Record<string, HeaderValue>): boolean {
  return (first(headers["content-type"]) ?? "").startsWith("application/grpc");
}

/**
 * A finished call's gRPC status, as Envoy's Grpc::Common::getGrpcStatus: grpc-status from the
 * trailers, else from the headers (trailers-only), else the HTTP status mapped; "" with neither.
 */
export function grpcCallStatus(info: { responseTrailers?: Record<string, HeaderValue>; responseHeaders?: Record<string, HeaderValue>; responseCode?: number }): string {
  const s = first(info.responseTrailers?.["grpc-status"]) ?? first(info.responseHeaders?.["grpc-status"]);
  if (s !== undefined) return s;
  return info.responseCode ? grpcStatusForHttp(info.responseCode) : "";
}
