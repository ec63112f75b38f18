// One small buffered HTTP request through a cluster of the proxy (its load
// balancer, pools, TLS and circuit breakers): how jwt_authn fetches remote
// JWKS and ext_authz calls its http_service — Envoy's async client.
import type { Cluster } from "../upstream/cluster.js";
import type { UpstreamHeaders } from "../upstream/upstream-stream.js";

export interface ClusterCallResult {
  status: number;
  headers: UpstreamHeaders;
  body: Buffer;
}

export interface ClusterCallRequest {
  method: string;
  path: string;
  authority: string;
  headers: UpstreamHeaders;
  timeoutMs: number;
  /** Responses larger than this fail (a JWKS or an authz reply is small). */
  maxBodyBytes: number;
}

export class ClusterCallError extends Error {
  override readonly name = "ClusterCallError";
}

export function callCluster(cluster: Cluster | undefined, clusterName: string, req: ClusterCallRequest): Promise<ClusterCallResult> {
  return new Promise((resolve, reject) => {
    if (!cluster) return reject(new ClusterCallError(`cluster ${clusterName} does not exist`));
    const host = cluster.pickHost(undefined, undefined);
    if (!host) return reject(new ClusterCallError(`cluster ${clusterName} has no healthy upstream`));
    const protocol = cluster.config.protocol === "http2" ? "http2" : "http1";
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    let status = 0;
    let headers: UpstreamHeaders = {};
    const done = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ status, headers, body: Buffer.concat(chunks) });
    };
    const timer = setTimeout(() => {
      stream.abort();
      done(new ClusterCallError(`request to cluster ${clusterName} timed out after ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    const stream = cluster.pool(host, protocol).request(
      { method: req.method, path: req.path, authority: req.authority, scheme: "http", headers: req.headers, body: null },
      {
        onHeaders(s, h, endStream) {
          status = s;
          headers = h;
          if (endStream) done(undefined);
        },
        onData(chunk) {
          size += chunk.length;
          if (size > req.maxBodyBytes) {
            stream.abort();
            done(new ClusterCallError(`response from cluster ${clusterName} exceeds ${req.maxBodyBytes} bytes`));
            return true;
          }
          chunks.push(chunk);
          return true;
        },
        onEnd() {
          done(undefined);
        },
        onError(err) {
          done(new ClusterCallError(`request to cluster ${clusterName} failed: ${err.message}`, { cause: err }));
        },
      },
    );
  });
}
