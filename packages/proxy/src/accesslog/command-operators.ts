import { hostname } from "node:os";
import type { StreamInfo } from "../contracts.js";
import { RESPONSE_FLAG_LONG_NAMES } from "./response-flags.js";
import { compileStartTimeFormat } from "./start-time-format.js";
import { tlsOperator } from "./tls-operators.js";
import { wireText } from "../http/wire-string.js";

/** A resolved value: strings and numbers are typed in JSON logs; null prints `-` in text, null in JSON. */
export type LogValue = string | number | boolean | null | Record<string, unknown> | unknown[];
export type ValueFn = (info: StreamInfo) => LogValue;

export class AccessLogFormatError extends Error {
  override readonly name = "AccessLogFormatError";
}

const stripPort = (address: string | undefined): string | null => {
  if (!address) return null;
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end > 0 ? address.slice(1, end) : address;
  }
  const colon = address.lastIndexOf(":");
  // Plain IPv6 without brackets has several colons and no port.
  return colon > 0 && address.indexOf(":") === colon ? address.slice(0, colon) : address;
};

const portOf = (address: string | undefined): number | null => {
  if (!address) return null;
  const m = /:(\d+)$/.exec(address);
  return m && (address.startsWith("[") || address.indexOf(":") === address.lastIndexOf(":")) ? Number(m[1]) : null;
};

const orNull = <T>(v: T | undefined): T | null => (v === undefined || v === "" ? null : v);

/** `lookup` calls the StreamInfo's lookup as a method: an HTTP stream's reads its own header maps. */
function headerOperator(arg: string, lookup: (info: StreamInfo, name: string) => string | undefined, fallback?: (name: string, info: StreamInfo) => string | undefined): ValueFn {
  const [main, alt] = arg.split("?").map((h) => h.trim().toLowerCase());
  if (!main) throw new AccessLogFormatError(`header operator needs a header name, got '(${arg})'`);
  return (info) => {
    let v = lookup(info, main);
    if (v === undefined && alt) v = lookup(info, alt);
    if (v === undefined && fallback) v = fallback(main, info);
    // Header maps hold wire bytes one per character; the line is text written as UTF-8, so a value's
    // UTF-8 leaves the sink as the bytes the peer sent, as Envoy writes them.
    return v === undefined ? null : wireText(v);
  };
}

function metadataPath(arg: string): { ns: string; path: string[] } {
  const [ns, ...path] = arg.split(":");
  if (!ns) throw new AccessLogFormatError(`DYNAMIC_METADATA needs a namespace, got '(${arg})'`);
  return { ns, path };
}

/**
 * Builds the closure for one `%COMMAND(arg):maxLength%`. Throws
 * AccessLogFormatError for an operator we don't know (Envoy rejects the config too).
 */
export function compileOperator(command: string, arg: string | undefined): ValueFn {
  const needsArg = (name: string): string => {
    if (arg === undefined) throw new AccessLogFormatError(`%${name}% needs an argument: %${name}(...)%`);
    return arg;
  };
  switch (command) {
    case "START_TIME": {
      const fmt = compileStartTimeFormat(arg || undefined);
      return (info) => fmt(info.startTime);
    }
    case "REQ":
      return headerOperator(needsArg(command), (i, n) => i.requestHeader?.(n));
    case "RESP":
      // The router adds x-envoy-upstream-service-time; fall back to the
      // measured value when the data path didn't surface the header.
      return headerOperator(needsArg(command), (i, n) => i.responseHeader?.(n), (name, info) =>
        name === "x-envoy-upstream-service-time" && info.upstreamServiceTimeMs !== undefined ? String(Math.round(info.upstreamServiceTimeMs)) : undefined,
      );
    case "TRAILER":
      return headerOperator(needsArg(command), (i, n) => i.responseTrailer?.(n));
    case "RESPONSE_CODE":
      return (i) => i.responseCode ?? 0;
    case "RESPONSE_CODE_DETAILS":
      return (i) => orNull(i.responseCodeDetails);
    case "RESPONSE_FLAGS":
      return (i) => (i.responseFlags.length ? i.responseFlags.join(",") : "-");
    case "RESPONSE_FLAGS_LONG":
      return (i) => (i.responseFlags.length ? i.responseFlags.map((f) => RESPONSE_FLAG_LONG_NAMES[f] ?? f).join(",") : "-");
    case "BYTES_RECEIVED":
      return (i) => i.bytesReceived;
    case "BYTES_SENT":
      return (i) => i.bytesSent;
    // TCP streams carry no wire counts: their bytes are the connection's, BYTES_RECEIVED/SENT.
    case "DOWNSTREAM_WIRE_BYTES_RECEIVED":
      return (i) => i.wireBytesReceived ?? i.bytesReceived;
    case "DOWNSTREAM_WIRE_BYTES_SENT":
      return (i) => i.wireBytesSent ?? i.bytesSent;
    case "REQUEST_HEADERS_BYTES":
      return (i) => i.requestHeadersBytes?.() ?? 0;
    case "RESPONSE_HEADERS_BYTES":
      return (i) => i.responseHeadersBytes?.() ?? 0;
    case "RESPONSE_TRAILERS_BYTES":
      return (i) => i.responseTrailersBytes?.() ?? 0;
    case "DURATION":
      return (i) => (i.durationMs === undefined ? null : Math.round(i.durationMs));
    case "REQUEST_DURATION":
      return (i) => (i.requestDurationMs === undefined ? null : Math.round(i.requestDurationMs));
    case "RESPONSE_DURATION":
      return (i) => (i.responseDurationMs === undefined ? null : Math.round(i.responseDurationMs));
    case "UPSTREAM_HOST":
      return (i) => orNull(i.upstreamHost);
    case "UPSTREAM_CLUSTER":
      return (i) => orNull(i.upstreamCluster);
    case "UPSTREAM_LOCAL_ADDRESS":
      return (i) => orNull(i.upstreamLocalAddress);
    case "UPSTREAM_TRANSPORT_FAILURE_REASON":
      return (i) => orNull(i.upstreamTransportFailureReason);
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return (i) => orNull(i.downstreamLocalAddress);
    case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
      return (i) => stripPort(i.downstreamLocalAddress);
    case "DOWNSTREAM_LOCAL_PORT":
      return (i) => portOf(i.downstreamLocalAddress);
    case "DOWNSTREAM_REMOTE_ADDRESS":
      return (i) => orNull(i.downstreamRemoteAddress);
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
      return (i) => stripPort(i.downstreamRemoteAddress);
    case "DOWNSTREAM_REMOTE_PORT":
      return (i) => portOf(i.downstreamRemoteAddress);
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
      return (i) => orNull(i.downstreamDirectRemoteAddress ?? i.downstreamRemoteAddress);
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
      return (i) => stripPort(i.downstreamDirectRemoteAddress ?? i.downstreamRemoteAddress);
    case "REQUESTED_SERVER_NAME":
      return (i) => orNull(i.requestedServerName);
    case "ROUTE_NAME":
      return (i) => orNull(i.routeName);
    case "PROTOCOL":
      return (i) => orNull(i.protocol);
    case "CONNECTION_TERMINATION_DETAILS":
      return (i) => orNull(i.connectionTerminationDetails);
    case "HOSTNAME": {
      const host = hostname();
      return () => host;
    }
    case "DYNAMIC_METADATA": {
      const { ns, path } = metadataPath(needsArg(command));
      return (i) => {
        let v: unknown = i.dynamicMetadata?.[ns];
        for (const key of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
        return v === undefined ? null : (v as LogValue);
      };
    }
    case "FILTER_STATE": {
      const key = needsArg(command).split(":")[0]!;
      return (i) => {
        const v = i.filterState?.[key];
        return v === undefined ? null : (v as LogValue);
      };
    }
    default: {
      const tls = tlsOperator(command);
      if (tls) return tls;
      throw new AccessLogFormatError(`unsupported command operator %${command}%`);
    }
  }
}
