// One upstream endpoint. Mutable counters only; everything else is fixed when
// the endpoint set is compiled (EDS, DNS or static).
export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

export interface Host {
  /** `ip:port`, or the pipe path for unix sockets. */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  /** Unix socket path when the endpoint is a pipe. */
  readonly pipe?: string;
  readonly weight: number;
  readonly healthy: boolean;
  readonly healthFlags: string[];
  readonly locality?: Locality;
  readonly localityKey: string;
  readonly priority: number;
  /** Hostname the endpoint was configured with (for auto_host_rewrite on DNS clusters). */
  readonly hostname?: string;
  activeRequests: number;
  cxActive: number;
  rqTotal: number;
  rqSuccess: number;
  rqError: number;
}

export function createHost(init: {
  ip: string;
  port: number;
  pipe?: string;
  weight?: number;
  healthy?: boolean;
  healthFlags?: string[];
  locality?: Locality;
  priority?: number;
  hostname?: string;
}): Host {
  const loc = init.locality;
  return {
    key: init.pipe ?? (init.ip.includes(":") ? `[${init.ip}]:${init.port}` : `${init.ip}:${init.port}`),
    ip: init.ip,
    port: init.port,
    pipe: init.pipe,
    weight: init.weight && init.weight > 0 ? init.weight : 1,
    healthy: init.healthy ?? true,
    healthFlags: init.healthFlags ?? [],
    locality: loc,
    localityKey: loc ? `${loc.region ?? ""}/${loc.zone ?? ""}/${loc.subZone ?? ""}` : "",
    priority: init.priority ?? 0,
    hostname: init.hostname,
    activeRequests: 0,
    cxActive: 0,
    rqTotal: 0,
    rqSuccess: 0,
    rqError: 0,
  };
}
