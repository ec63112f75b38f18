import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { unpackAny } from "@weft/xds-api";
import type { AccessLog } from "@weft/xds-api/gen/envoy/config/accesslog/v3/accesslog_pb";
import type { SubstitutionFormatString } from "@weft/xds-api/gen/envoy/config/core/v3/substitution_format_string_pb";
import { FileAccessLogSchema } from "@weft/xds-api/gen/envoy/extensions/access_loggers/file/v3/file_pb";
import { StderrAccessLogSchema, StdoutAccessLogSchema } from "@weft/xds-api/gen/envoy/extensions/access_loggers/stream/v3/stream_pb";
import type { AccessLogger, AccessLoggerFactory, StatsStore, StreamInfo } from "../contracts.js";
import { AccessLogFormatError } from "./command-operators.js";
import { compileAccessLogFilter } from "./access-log-filter.js";
import { compileJsonFormat, compileTextFormat, DEFAULT_TEXT_FORMAT, type Formatter } from "./format-compiler.js";
import { createLogSink, type LogSink, type LogSinkTarget } from "./log-sink.js";

export interface AccessLogManager {
  factory: AccessLoggerFactory;
  /** Writes everything buffered (admin /quitquitquit, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AccessLogManagerOptions {
  stats: StatsStore;
  logger: Logger;
  /** --file-flush-interval-msec (Envoy's default: 10 s). */
  flushIntervalMs?: number;
  reportUnsupported(fieldPath: string, detail?: string): void;
}

const FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STDOUT = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";
const STDERR = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog";

function dataSourceText(source: NonNullable<Extract<SubstitutionFormatString["format"], { case: "textFormatSource" }>["value"]>, path: string): string {
  switch (source.specifier.case) {
    case "inlineString":
      return source.specifier.value;
    case "inlineBytes":
      return new TextDecoder().decode(source.specifier.value);
    case "filename":
      try {
        return readFileSync(source.specifier.value, "utf8");
      } catch (cause) {
        throw new AccessLogFormatError(`${path}.filename: cannot read '${source.specifier.value}': ${(cause as Error).message}`);
      }
    case "environmentVariable": {
      const v = process.env[source.specifier.value];
      if (v === undefined) throw new AccessLogFormatError(`${path}.environment_variable: '${source.specifier.value}' is not set`);
      return v;
    }
    default:
      throw new AccessLogFormatError(`${path}: empty data source`);
  }
}

export function compileSubstitutionFormat(
  fmt: SubstitutionFormatString | undefined,
  path: string,
  reportUnsupported: (fieldPath: string, detail?: string) => void,
): Formatter {
  if (!fmt) return compileTextFormat(DEFAULT_TEXT_FORMAT);
  if (fmt.formatters.length) reportUnsupported(`${path}.formatters`, "custom formatter extensions are not implemented");
  const omitEmptyValues = fmt.omitEmptyValues;
  switch (fmt.format.case) {
    case "textFormat":
      return compileTextFormat(fmt.format.value, { omitEmptyValues });
    case "textFormatSource":
      return compileTextFormat(dataSourceText(fmt.format.value, `${path}.text_format_source`), { omitEmptyValues });
    case "jsonFormat":
      return compileJsonFormat(fmt.format.value as Record<string, unknown>, { omitEmptyValues });
    default:
      return compileTextFormat(DEFAULT_TEXT_FORMAT);
  }
}

/**
 * The AccessLoggerFactory the data path calls for every `access_log` entry it
 * compiles: formats are compiled once into closures; lines go to a buffered
 * sink per destination, flushed every --file-flush-interval-msec.
 */
export function createAccessLogManager(options: AccessLogManagerOptions): AccessLogManager {
  const sinks = new Map<string, LogSink>();
  const flushIntervalMs = options.flushIntervalMs ?? 10_000;
  const formatErrors = options.stats.counter("access_log.format_errors");

  const sinkFor = (key: string, target: LogSinkTarget): LogSink => {
    let sink = sinks.get(key);
    if (!sink) sinks.set(key, (sink = createLogSink(target, { flushIntervalMs, stats: options.stats, logger: options.logger })));
    return sink;
  };
  const fileSink = (path: string): LogSink => {
    if (path === "/dev/stdout") return sinkFor("stdout", { kind: "file", path, fallbackStream: process.stdout });
    if (path === "/dev/stderr") return sinkFor("stderr", { kind: "file", path, fallbackStream: process.stderr });
    return sinkFor("file:" + path, { kind: "file", path });
  };

  const factory: AccessLoggerFactory = (config: AccessLog): AccessLogger => {
    const path = `access_log[${config.name || "unnamed"}]`;
    const predicate = compileAccessLogFilter(config.filter, `${path}.filter`, options.reportUnsupported);
    if (config.configType.case !== "typedConfig") {
      throw new AccessLogFormatError(`${path}.typed_config: required (the access logger's configuration)`);
    }
    const any = config.configType.value;
    let format: Formatter;
    let sink: LogSink;
    switch (any.typeUrl) {
      case FILE: {
        const file = unpackAny(any, FileAccessLogSchema);
        if (!file.path) throw new AccessLogFormatError(`${path}.typed_config.path: must not be empty`);
        const f = file.accessLogFormat;
        format =
          f.case === "format"
            ? compileTextFormat(f.value || DEFAULT_TEXT_FORMAT)
            : f.case === "jsonFormat" || f.case === "typedJsonFormat"
              ? compileJsonFormat(f.value as Record<string, unknown>)
              : compileSubstitutionFormat(f.case === "logFormat" ? f.value : undefined, `${path}.typed_config.log_format`, options.reportUnsupported);
        sink = fileSink(file.path);
        break;
      }
      case STDOUT:
      case STDERR: {
        const cfg = any.typeUrl === STDOUT ? unpackAny(any, StdoutAccessLogSchema) : unpackAny(any, StderrAccessLogSchema);
        const f = cfg.accessLogFormat;
        format = compileSubstitutionFormat(f.case === "logFormat" ? f.value : undefined, `${path}.typed_config.log_format`, options.reportUnsupported);
        sink = fileSink(any.typeUrl === STDOUT ? "/dev/stdout" : "/dev/stderr");
        break;
      }
      default:
        options.reportUnsupported(`${path}.typed_config`, `access logger ${any.typeUrl} is not implemented: nothing is logged`);
        return { log() {} };
    }
    return {
      log(info: StreamInfo) {
        try {
          if (predicate(info)) sink.write(format(info));
        } catch {
          // Never throw on the request path; a broken entry is counted, not logged.
          formatErrors.inc();
        }
      },
    };
  };

  return {
    factory,
    async flush() {
      await Promise.all([...sinks.values()].map((s) => s.flush()));
    },
    async close() {
      await Promise.all([...sinks.values()].map((s) => s.close()));
      sinks.clear();
    },
  };
}
