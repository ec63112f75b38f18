// Read the first bytes of a connection without consuming them: data is read,
// then unshifted back so the next consumer sees the stream untouched (Envoy's
// MSG_PEEK for listener filters).
import type { Socket } from "node:net";

/**
 * Resolves with everything buffered once `enough(buf)` is true, the peer
 * stops sending, or `timeoutMs` passes (`timedOut` set). The socket is left
 * paused with the bytes unshifted.
 */
export function peek(socket: Socket, enough: (buf: Buffer) => boolean, timeoutMs: number): Promise<{ buf: Buffer; timedOut: boolean }> {
  return new Promise((resolve) => {
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.pause();
      if (buf.length > 0) socket.unshift(buf);
      resolve({ buf, timedOut });
    };
    const onData = (d: Buffer): void => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      if (enough(buf)) finish(false);
    };
    const onEnd = (): void => finish(false);
    const timer = timeoutMs > 0 ? setTimeout(() => finish(true), timeoutMs) : undefined;
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
  });
}
