// How long a stream may live (Envoy's ConnectionManagerImpl::ActiveStream::
// refreshDurationTimeout): a request carrying grpc-timeout on a route whose
// max_stream_duration sets grpc_timeout_header_max gets that header's value —
// capped by the max unless it is 0, less grpc_timeout_header_offset — and
// otherwise the route's max_stream_duration (0: none), else the connection
// manager's. Istio puts `max_stream_duration: 0s, grpc_timeout_header_max: 0s`
// on every route, so a gRPC client's deadline is the sidecar's too.
import type { StreamDurationSpec } from "../router/route-action.js";

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
/** gRPC's TimeoutValue: at most 8 digits, then a unit. */
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** A grpc-timeout header in whole milliseconds, or undefined when absent or malformed (Grpc::Common::getGrpcTimeout). */
export function grpcTimeoutMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v === undefined ? null : GRPC_TIMEOUT.exec(v);
  return m ? Math.floor(Number(m[1]) * UNIT_MS[m[2]!]!) : undefined;
}

/** The stream's duration limit in ms from its start, or undefined for none. */
export function streamDurationMs(route: StreamDurationSpec | undefined, hcmMaxMs: number, grpcTimeout: string | string[] | undefined): number | undefined {
  const fromHeader = route?.grpcHeaderMaxMs !== undefined ? grpcTimeoutMs(grpcTimeout) : undefined;
  if (fromHeader === undefined) {
    const max = route?.maxMs ?? hcmMaxMs;
    return max > 0 ? max : undefined;
  }
  let ms = fromHeader;
  const cap = route!.grpcHeaderMaxMs!;
  if (cap > 0 && ms > cap) ms = cap;
  const offset = route!.grpcHeaderOffsetMs ?? 0;
  if (ms !== 0 && offset > 0) ms = offset < ms ? ms - offset : 0;
  return ms;
}
