// What the router learns from each request body chunk on its way upstream:
// BYTES_RECEIVED, and the gRPC messages when grpc_stats counts this call.
import type { HttpStreamInfo } from "../http/request-context.js";

export function countRequestChunk(info: HttpStreamInfo, chunk: Buffer): void {
  info.bytesReceived += chunk.length;
  info.grpcMessages?.request.feed(chunk);
}
