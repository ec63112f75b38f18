export interface ProxyArgsOptions {
  bootstrapPath: string;
  drainDurationMs: number;
  logLevel: string;
  componentLogLevel: string;
  concurrency: number;
}

/** The flags pilot-agent starts Envoy with (pkg/envoy/proxy.go), which weft-proxy accepts too. */
export function proxyArgs(o: ProxyArgsOptions): string[] {
  return [
    "-c",
    o.bootstrapPath,
    "--drain-time-s",
    String(Math.round(o.drainDurationMs / 1000)),
    "--drain-strategy",
    "immediate",
    "--local-address-ip-version",
    "v4",
    "--file-flush-interval-msec",
    "1000",
    "--disable-hot-restart",
    "--allow-unknown-static-fields",
    "-l",
    o.logLevel,
    "--component-log-level",
    o.componentLogLevel,
    "--concurrency",
    String(o.concurrency),
  ];
}
