// gRPC status codes and the error a failed call ends with. The codes and the
// HTTP-status fallback are gRPC's (doc/statuscodes.md, doc/http-grpc-status-mapping.md);
// grpc-message is percent-encoded UTF-8 (doc/PROTOCOL-HTTP2.md, "Status-Message").

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = Object.fromEntries(Object.entries(GrpcStatus).map(([name, code]) => [code, name])) as Record<number, string>;

/** A call's final status when it is not OK; `message` starts with the status name, as gRPC clients print it. */
export class GrpcError extends Error {
  override readonly name = "GrpcError";
  constructor(
    readonly code: number,
    /** The server's grpc-message (decoded), or what went wrong on our side. */
    readonly detail: string,
  ) {
    super(`${NAMES[code] ?? `status ${code}`}: ${detail}`);
  }
}

/** The gRPC status of a response that ended without grpc-status (gRPC's HTTP → status mapping). */
export function statusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** Decodes a grpc-message value; a malformed escape leaves the text as sent rather than losing it. */
export function decodeGrpcMessage(raw: string | undefined): string {
  if (!raw) return "";
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
