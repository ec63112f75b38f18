// upstream_connection_options.tcp_keepalive (Istio: a DestinationRule's
// connectionPool.tcp.tcpKeepalive) on the proxy's upstream TCP connections.
// Each of time, interval and probes that is set replaces the system's value;
// unset ones keep it, as in Envoy. Node's setKeepAlive sets only the idle time,
// so the three go through Weft's socket addon; without the addon the idle time
// is set and the others keep the system's values.
import type { Socket } from "node:net";
import type { TcpKeepalive } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { socketAddon } from "../native/socket-addon.js";

export interface TcpKeepaliveSpec {
  /** Seconds idle before the first probe; 0 = the system's. */
  timeS: number;
  /** Seconds between probes; 0 = the system's. */
  intervalS: number;
  /** Unanswered probes before the connection is dropped; 0 = the system's. */
  probes: number;
}

export function compileTcpKeepalive(k: TcpKeepalive | undefined): TcpKeepaliveSpec | undefined {
  if (!k) return undefined;
  return { timeS: k.keepaliveTime ?? 0, intervalS: k.keepaliveInterval ?? 0, probes: k.keepaliveProbes ?? 0 };
}

/** Turns keepalive on for `socket` once it is connected (a Unix socket is left alone). */
export function applyTcpKeepalive(socket: Socket, spec: TcpKeepaliveSpec | undefined): void {
  if (!spec) return;
  socket.once("connect", () => {
    if (socket.remotePort === undefined) return;
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    const addon = socketAddon();
    if (addon && typeof fd === "number" && fd >= 0) {
      try {
        addon.setKeepAlive(fd, spec.timeS, spec.intervalS, spec.probes);
        return;
      } catch {
        // Fall through to what Node can set.
      }
    }
    socket.setKeepAlive(true, spec.timeS * 1000);
  });
}
