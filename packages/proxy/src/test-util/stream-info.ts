import type { StreamInfo } from "../contracts.js";

/** A finished HTTP request like the client-sidecar line in istio-sample-traffic.md. */
export function sampleStreamInfo(overrides: Partial<StreamInfo> = {}): StreamInfo {
  const req: Record<string, string> = {
    ":method": "GET",
    ":path": "/headers",
    ":authority": "httpbin:8000",
    "user-agent": "curl/8.0.1-DEV",
    "x-request-id": "6618b006-b862-927e-ac43-aaf4f2026c0d",
  };
  const resp: Record<string, string> = { ":status": "200", "x-envoy-upstream-service-time": "11" };
  return {
    startTime: Date.parse("2023-05-02T01:45:04.154Z"),
    durationMs: 12,
    protocol: "HTTP/1.1",
    requestHeader: (n) => req[n],
    responseHeader: (n) => resp[n],
    responseTrailer: () => undefined,
    responseCode: 200,
    responseCodeDetails: "via_upstream",
    responseFlags: [],
    bytesReceived: 0,
    bytesSent: 508,
    upstreamHost: "10.10.241.82:80",
    upstreamCluster: "outbound|8000||httpbin.istio-demo.svc.cluster.local",
    upstreamLocalAddress: "10.10.241.84:58514",
    downstreamLocalAddress: "10.97.94.170:8000",
    downstreamRemoteAddress: "10.10.241.84:40658",
    routeName: "default",
    ...overrides,
  };
}
