// The request body kept for retries and mirrors, up to the buffer limit
// (route/virtual host per_request_buffer_limit_bytes). Each attempt opens its
// own readable: what has arrived so far, then the rest as it arrives. Past
// the limit the copy is dropped and the request can no longer be replayed
// (Envoy counts retry_or_shadow_abandoned and stops retrying/shadowing).
import { PassThrough, type Readable } from "node:stream";

export interface ReplayBody {
  /** A readable for one attempt, or null when the body cannot be replayed any more. */
  open(): Readable | null;
  /** Calls back once with the whole body when it has arrived, or undefined past the limit. */
  whenComplete(cb: (body: Buffer | undefined) => void): void;
  readonly overflowed: boolean;
  /** Stops reading and frees the copy (request done). */
  close(): void;
}

export function createReplayBody(source: Readable, limitBytes: number, onChunk: (chunk: Buffer) => void, onOverflow: () => void): ReplayBody {
  let chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  let overflowed = false;
  let opens = 0;
  let current: PassThrough | undefined;
  let listening = false;
  const waiters: Array<(b: Buffer | undefined) => void> = [];

  const onData = (chunk: Buffer): void => {
    onChunk(chunk);
    if (!overflowed) {
      size += chunk.length;
      if (size > limitBytes) {
        overflowed = true;
        chunks = [];
        onOverflow();
        for (const w of waiters.splice(0)) w(undefined);
      } else chunks.push(chunk);
    }
    if (current && !current.destroyed) {
      if (!current.write(chunk)) {
        source.pause();
        current.once("drain", () => source.resume());
      }
    }
  };
  const onEnd = (): void => {
    ended = true;
    if (current && !current.destroyed) current.end();
    if (!overflowed) {
      const all = Buffer.concat(chunks);
      for (const w of waiters.splice(0)) w(all);
    }
  };
  const listen = (): void => {
    if (listening) return;
    listening = true;
    source.on("data", onData);
    source.once("end", onEnd);
  };

  return {
    get overflowed() {
      return overflowed;
    },
    open() {
      // Past the limit only the first attempt can still stream the body through.
      if (overflowed && opens > 0) return null;
      opens++;
      if (current && !current.destroyed) {
        // The previous attempt is over: detach it without ending the upstream request.
        current.removeAllListeners("drain");
        current.destroy();
      }
      const pt = new PassThrough();
      current = pt;
      for (const c of chunks) pt.write(c);
      if (ended) pt.end();
      source.resume();
      listen();
      return pt;
    },
    whenComplete(cb) {
      if (overflowed) return cb(undefined);
      if (ended) return cb(Buffer.concat(chunks));
      waiters.push(cb);
      listen();
    },
    close() {
      source.off("data", onData);
      source.off("end", onEnd);
      chunks = [];
      waiters.length = 0;
      if (current && !current.destroyed) current.destroy();
      current = undefined;
      // Let the rest of the request drain so the connection stays usable.
      if (!ended) source.resume();
    },
  };
}
