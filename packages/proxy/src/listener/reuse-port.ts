// Listening with SO_REUSEPORT: how the worker threads of a --concurrency N
// proxy share a listener. Each thread binds its own socket to the same
// address and the kernel spreads new connections across them (by a hash of
// the 4-tuple), as Envoy's workers do with enable_reuse_port. Node's own
// `reusePort` listen option arrived in 22.12 / 23.1; on older Node the socket
// comes from Weft's addon (native/reuse_port.c) as a file descriptor.
import type { Server } from "node:net";
import { socketAddon, socketAddonUnavailableReason } from "../native/socket-addon.js";

/** Whether this Node's net.Server.listen() takes `reusePort` (22.12+, 23.1+). */
export function nodeHasReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** Why listeners can't be shared with SO_REUSEPORT here, or undefined when they can. */
export function reusePortUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `SO_REUSEPORT listeners are used on Linux only (platform ${process.platform})`;
  if (nodeHasReusePort()) return undefined;
  const why = socketAddonUnavailableReason();
  return why ? `Node ${process.versions.node} has no reusePort listen option and Weft's socket addon did not load: ${why}` : undefined;
}

/**
 * server.listen() on ip:port with SO_REUSEPORT. Errors (EADDRINUSE: a socket
 * without SO_REUSEPORT holds the address) reach the server's 'error' event,
 * as from a plain listen().
 */
export function listenReusePort(server: Server, ip: string, port: number, backlog: number, onListening: () => void): void {
  if (nodeHasReusePort()) {
    server.listen({ host: ip, port, backlog, reusePort: true } as Parameters<Server["listen"]>[0], onListening);
    return;
  }
  const addon = socketAddon();
  if (!addon) {
    process.nextTick(() => server.emit("error", new Error(reusePortUnavailableReason())));
    return;
  }
  let fd: number;
  try {
    fd = addon.listenReusePort(ip, port, backlog);
  } catch (err) {
    process.nextTick(() => server.emit("error", err));
    return;
  }
  server.listen({ fd, backlog }, onListening);
}
