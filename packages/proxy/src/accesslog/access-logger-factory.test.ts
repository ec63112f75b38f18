import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { fromEnvoyJson } from "@weft/xds-api";
import { AccessLogSchema } from "@weft/xds-api/gen/envoy/config/accesslog/v3/accesslog_pb";
import { afterEach, describe, expect, it } from "vitest";
import { createStatsStore } from "../stats/stats-store.js";
import { quietLogger } from "../test-util/quiet-logger.js";
import { sampleStreamInfo } from "../test-util/stream-info.js";
import { createAccessLogManager, type AccessLogManager } from "./access-logger-factory.js";

const dir = mkdtempSync(join(tmpdir(), "weft-accesslog-"));
let manager: AccessLogManager | undefined;
afterEach(async () => manager?.close());

function setup() {
  const unsupported: string[] = [];
  const stats = createStatsStore();
  manager = createAccessLogManager({ stats, logger: quietLogger(), flushIntervalMs: 20, reportUnsupported: (p) => unsupported.push(p) });
  return { manager, stats, unsupported };
}

const fileLog = (path: string, extra: Record<string, unknown> = {}, filter?: unknown) =>
  fromEnvoyJson(AccessLogSchema, {
    name: "envoy.access_loggers.file",
    ...(filter ? { filter } : {}),
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path, ...extra },
  } as never);

describe("createAccessLogManager()", () => {
  it("writes Envoy's default format to a file after the flush interval", async () => {
    const { manager } = setup();
    const path = join(dir, "default.log");
    manager.factory(fileLog(path)).log(sampleStreamInfo());
    await new Promise((r) => setTimeout(r, 100));
    expect(readFileSync(path, "utf8")).toMatch(/^\[2023-05-02T01:45:04.154Z\] "GET \/headers HTTP\/1.1" 200 - 0 508 12 11 /);
  });

  it("writes json_format from log_format and flushes on demand", async () => {
    const { manager } = setup();
    const path = join(dir, "json.log");
    const logger = manager.factory(fileLog(path, { log_format: { json_format: { code: "%RESPONSE_CODE%", flags: "%RESPONSE_FLAGS%" } } }));
    logger.log(sampleStreamInfo({ responseCode: 503, responseFlags: ["UH"] }));
    await manager.flush();
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ code: 503, flags: "UH" });
  });

  it("uses text_format_source inline_string", async () => {
    const { manager } = setup();
    const path = join(dir, "text.log");
    manager.factory(fileLog(path, { log_format: { text_format_source: { inline_string: "%UPSTREAM_CLUSTER% %ROUTE_NAME%\n" } } })).log(sampleStreamInfo());
    await manager.flush();
    expect(readFileSync(path, "utf8")).toBe("outbound|8000||httpbin.istio-demo.svc.cluster.local default\n");
  });

  it.each([
    ["status_code_filter GE 500", { status_code_filter: { comparison: { op: "GE", value: { default_value: 500, runtime_key: "k" } } } }, [200, 503], [503]],
    ["response_flag_filter UH", { response_flag_filter: { flags: ["UH"] } }, [200, 503], [503]],
    [
      "or_filter",
      { or_filter: { filters: [{ status_code_filter: { comparison: { op: "EQ", value: { default_value: 200, runtime_key: "k" } } } }, { response_flag_filter: {} }] } },
      [200, 404, 503],
      [200, 503],
    ],
  ])("applies %s", async (_name, filter, codes, logged) => {
    const { manager } = setup();
    const path = join(dir, `filter-${codes.join("-")}-${logged.join("-")}-${Math.random()}.log`);
    const logger = manager.factory(fileLog(path, { log_format: { text_format: "%RESPONSE_CODE%\n" } }, filter));
    for (const code of codes) logger.log(sampleStreamInfo({ responseCode: code, responseFlags: code === 503 ? ["UH"] : [] }));
    await manager.flush();
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch {
      text = "";
    }
    expect(text.split("\n").filter(Boolean).map(Number)).toEqual(logged);
  });

  it("rejects an unknown response flag naming the field", () => {
    const { manager } = setup();
    expect(() => manager.factory(fileLog(join(dir, "x.log"), {}, { response_flag_filter: { flags: ["NOPE"] } }))).toThrow(
      /response_flag_filter\.flags\[0\]: unknown response flag 'NOPE'/,
    );
  });

  it("rejects a bad format naming the operator", () => {
    const { manager } = setup();
    expect(() => manager.factory(fileLog(join(dir, "x.log"), { log_format: { text_format: "%BOGUS%" } }))).toThrow(/%BOGUS%/);
  });

  it("reports an unimplemented logger type once and logs nothing", () => {
    const { manager, unsupported } = setup();
    const config = fromEnvoyJson(AccessLogSchema, {
      name: "envoy.access_loggers.http_grpc",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig" },
    } as never);
    manager.factory(config).log(sampleStreamInfo());
    expect(unsupported).toEqual(["access_log[envoy.access_loggers.http_grpc].typed_config"]);
  });

  it("drops lines beyond the buffer and counts them instead of blocking", () => {
    const { manager, stats } = setup();
    const logger = manager.factory(fileLog(join(dir, "big.log"), { log_format: { text_format: "%REQ(X-BIG)%\n" } }));
    const big = "x".repeat(1024 * 1024);
    const info = sampleStreamInfo({ requestHeader: () => big });
    for (let i = 0; i < 20; i++) logger.log(info);
    expect(stats.counter("filesystem.write_dropped").value()).toBeGreaterThan(0);
  });

  it("requires typed_config", () => {
    const { manager } = setup();
    expect(() => manager.factory(create(AccessLogSchema, { name: "x" }))).toThrow(/typed_config: required/);
  });
});
