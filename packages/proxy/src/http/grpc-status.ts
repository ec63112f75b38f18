// Envoy's Grpc::Utility::httpToGrpcStatus: the gRPC status an HTTP status
// stands for when a response carries no grpc-status of its own.
const GRPC_STATUS_BY_HTTP: Record<number, string> = { 400: "13", 401: "16", 403: "7", 404: "12", 429: "14", 502: "14", 503: "14", 504: "14" };

/** The gRPC status for an HTTP status; anything unmapped is UNKNOWN (2). */
export function grpcStatusForHttp(status: number): string {
  return GRPC_STATUS_BY_HTTP[status] ?? "2";
}
