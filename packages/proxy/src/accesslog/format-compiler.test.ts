import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { sampleStreamInfo } from "../test-util/stream-info.js";
import { AccessLogFormatError } from "./command-operators.js";
import { compileJsonFormat, compileTextFormat, DEFAULT_TEXT_FORMAT } from "./format-compiler.js";

const info = sampleStreamInfo();

describe("compileTextFormat()", () => {
  it("renders Envoy's default format exactly", () => {
    expect(compileTextFormat()(info)).toBe(
      '[2023-05-02T01:45:04.154Z] "GET /headers HTTP/1.1" 200 - 0 508 12 11 "-" "curl/8.0.1-DEV" "6618b006-b862-927e-ac43-aaf4f2026c0d" "httpbin:8000" "10.10.241.82:80"\n',
    );
    expect(DEFAULT_TEXT_FORMAT.endsWith("\n")).toBe(true);
  });

  it.each([
    ["%START_TIME%", "2023-05-02T01:45:04.154Z"],
    ["%START_TIME(%Y/%m/%d %H:%M:%S)%", "2023/05/02 01:45:04"],
    ["%START_TIME(%s.%3f)%", "1682991904.154"],
    ["%START_TIME(%f)%", "154000000"],
    ["%START_TIME(%6f)%", "154000"],
    ["%START_TIME(%E3S)%", "04.154"],
    ["%REQ(:METHOD)%", "GET"],
    ["%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "/headers"],
    ["%REQ(USER-AGENT):4%", "curl"],
    ["%REQ(X-MISSING)%", "-"],
    ["%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "11"],
    ["%TRAILER(GRPC-STATUS)%", "-"],
    ["%RESPONSE_CODE%", "200"],
    ["%RESPONSE_FLAGS%", "-"],
    ["%RESPONSE_FLAGS_LONG%", "-"],
    ["%RESPONSE_CODE_DETAILS%", "via_upstream"],
    ["%BYTES_RECEIVED%", "0"],
    ["%BYTES_SENT%", "508"],
    ["%DURATION%", "12"],
    ["%REQUEST_DURATION%", "-"],
    ["%RESPONSE_DURATION%", "-"],
    ["%UPSTREAM_HOST%", "10.10.241.82:80"],
    ["%UPSTREAM_CLUSTER%", "outbound|8000||httpbin.istio-demo.svc.cluster.local"],
    ["%UPSTREAM_LOCAL_ADDRESS%", "10.10.241.84:58514"],
    ["%UPSTREAM_TRANSPORT_FAILURE_REASON%", "-"],
    ["%DOWNSTREAM_LOCAL_ADDRESS%", "10.97.94.170:8000"],
    ["%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "10.97.94.170"],
    ["%DOWNSTREAM_LOCAL_PORT%", "8000"],
    ["%DOWNSTREAM_REMOTE_ADDRESS%", "10.10.241.84:40658"],
    ["%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "10.10.241.84"],
    ["%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%", "10.10.241.84:40658"],
    ["%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%", "10.10.241.84"],
    ["%REQUESTED_SERVER_NAME%", "-"],
    ["%ROUTE_NAME%", "default"],
    ["%PROTOCOL%", "HTTP/1.1"],
    ["%CONNECTION_TERMINATION_DETAILS%", "-"],
    ["%HOSTNAME%", hostname()],
    ["%DYNAMIC_METADATA(istio.mixer:x)%", "-"],
    ["%FILTER_STATE(k)%", "-"],
    ["100%% done", "100% done"],
  ])("%s → %s", (format, expected) => {
    expect(compileTextFormat(format)(info)).toBe(expected);
  });

  it.each([
    ["%RESPONSE_FLAGS%", "UH,URX"],
    ["%RESPONSE_FLAGS_LONG%", "NoHealthyUpstream,UpstreamRetryLimitExceeded"],
    ["%DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_effective_policy_id)%", "p1"],
    ["%DYNAMIC_METADATA(envoy.filters.http.rbac)%", '{"shadow_effective_policy_id":"p1"}'],
    ["%FILTER_STATE(istio.peer)%", "peer-a"],
    ["%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "::1"],
    ["%REQUEST_DURATION%/%RESPONSE_DURATION%", "1/9"],
  ])("with flags and metadata: %s → %s", (format, expected) => {
    const rich = sampleStreamInfo({
      responseFlags: ["UH", "URX"],
      dynamicMetadata: { "envoy.filters.http.rbac": { shadow_effective_policy_id: "p1" } },
      filterState: { "istio.peer": "peer-a" },
      downstreamRemoteAddress: "[::1]:5000",
      requestDurationMs: 1.2,
      responseDurationMs: 9,
    });
    expect(compileTextFormat(format)(rich)).toBe(expected);
  });

  it("prints nothing for absent values with omit_empty_values", () => {
    expect(compileTextFormat("[%REQ(X-MISSING)%]", { omitEmptyValues: true })(info)).toBe("[]");
  });

  it("falls back to the measured upstream service time when the header is absent", () => {
    const i = sampleStreamInfo({ responseHeader: () => undefined, upstreamServiceTimeMs: 7.4 });
    expect(compileTextFormat("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%")(i)).toBe("7");
  });

  it.each([
    ["%NOT_AN_OPERATOR%", /unsupported command operator %NOT_AN_OPERATOR%/],
    ["%REQ%", /needs an argument/],
    ["%REQ(:PATH", /unterminated/],
    ["50% off", /'%' must start %COMMAND%/],
  ])("rejects %s", (format, message) => {
    expect(() => compileTextFormat(format)).toThrow(AccessLogFormatError);
    expect(() => compileTextFormat(format)).toThrow(message);
  });
});

describe("compileJsonFormat()", () => {
  // The keys and operators Istio uses for accessLogEncoding: JSON.
  const ISTIO_JSON = {
    start_time: "%START_TIME%",
    route_name: "%ROUTE_NAME%",
    method: "%REQ(:METHOD)%",
    path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    protocol: "%PROTOCOL%",
    response_code: "%RESPONSE_CODE%",
    response_flags: "%RESPONSE_FLAGS%",
    response_code_details: "%RESPONSE_CODE_DETAILS%",
    connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
    bytes_received: "%BYTES_RECEIVED%",
    bytes_sent: "%BYTES_SENT%",
    duration: "%DURATION%",
    upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
    user_agent: "%REQ(USER-AGENT)%",
    request_id: "%REQ(X-REQUEST-ID)%",
    authority: "%REQ(:AUTHORITY)%",
    upstream_host: "%UPSTREAM_HOST%",
    upstream_cluster: "%UPSTREAM_CLUSTER%",
    upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
    downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
    downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
    requested_server_name: "%REQUESTED_SERVER_NAME%",
    upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
  };

  it("produces the line istio-sample-traffic.md shows for the client sidecar", () => {
    const line = compileJsonFormat(ISTIO_JSON)(info);
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      route_name: "default",
      response_flags: "-",
      response_code: 200,
      authority: "httpbin:8000",
      user_agent: "curl/8.0.1-DEV",
      method: "GET",
      bytes_sent: 508,
      request_id: "6618b006-b862-927e-ac43-aaf4f2026c0d",
      bytes_received: 0,
      downstream_remote_address: "10.10.241.84:40658",
      x_forwarded_for: null,
      upstream_cluster: "outbound|8000||httpbin.istio-demo.svc.cluster.local",
      upstream_transport_failure_reason: null,
      path: "/headers",
      start_time: "2023-05-02T01:45:04.154Z",
      protocol: "HTTP/1.1",
      connection_termination_details: null,
      upstream_service_time: "11",
      duration: 12,
      upstream_local_address: "10.10.241.84:58514",
      upstream_host: "10.10.241.82:80",
      response_code_details: "via_upstream",
      downstream_local_address: "10.97.94.170:8000",
      requested_server_name: null,
    });
  });

  it("supports nested structs, mixed text and omit_empty_values", () => {
    const fmt = compileJsonFormat(
      { req: { m: "%REQ(:METHOD)%", missing: "%REQ(X-NOPE)%" }, summary: "%RESPONSE_CODE% in %DURATION%ms", fixed: 3 },
      { omitEmptyValues: true },
    );
    expect(JSON.parse(fmt(info))).toEqual({ req: { m: "GET" }, summary: "200 in 12ms", fixed: 3 });
  });

  it("reports a 503 UH with no upstream as null fields", () => {
    const uh = sampleStreamInfo({ responseCode: 503, responseFlags: ["UH"], upstreamHost: undefined, responseCodeDetails: "no_healthy_upstream" });
    const out = JSON.parse(compileJsonFormat(ISTIO_JSON)(uh));
    expect(out).toMatchObject({ response_code: 503, response_flags: "UH", upstream_host: null, response_code_details: "no_healthy_upstream" });
  });
});

describe("wire and header byte operators", () => {
  const format = "%DOWNSTREAM_WIRE_BYTES_RECEIVED% %DOWNSTREAM_WIRE_BYTES_SENT% %REQUEST_HEADERS_BYTES% %RESPONSE_HEADERS_BYTES% %RESPONSE_TRAILERS_BYTES%";

  it("prints an HTTP stream's wire bytes and header map sizes, typed as numbers in JSON", () => {
    const http = sampleStreamInfo({ wireBytesReceived: 120, wireBytesSent: 700, requestHeadersBytes: () => 90, responseHeadersBytes: () => 150, responseTrailersBytes: () => 0 });
    expect(compileTextFormat(format)(http)).toBe("120 700 90 150 0");
    expect(JSON.parse(compileJsonFormat({ in: "%DOWNSTREAM_WIRE_BYTES_RECEIVED%", hdr: "%REQUEST_HEADERS_BYTES%" })(http))).toEqual({ in: 120, hdr: 90 });
  });

  it("prints a TCP stream's connection bytes as its wire bytes (Envoy's tcp_proxy), and 0 header bytes", () => {
    const tcp = sampleStreamInfo({ protocol: undefined, bytesReceived: 11, bytesSent: 22, requestHeader: undefined, responseHeader: undefined });
    expect(compileTextFormat(format)(tcp)).toBe("11 22 0 0 0");
  });
});
