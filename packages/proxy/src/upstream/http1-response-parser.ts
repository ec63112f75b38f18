// A strict, incremental HTTP/1.1 response parser for the upstream pool
// (RFC 9112): status line, header fields, then the body framed by
// Transfer-Encoding: chunked, Content-Length, or the connection's close.
// What a proxy must not accept from an upstream is refused (an error resets
// the exchange): obs-fold, bare CR/LF inside fields, NUL and control bytes,
// Content-Length with Transfer-Encoding, conflicting Content-Lengths, a
// transfer coding other than chunked, oversized heads or chunk lines.
//
// One parser serves every exchange of a connection (`reset()` between them),
// and it never keeps a reference to the bytes it is fed: the pool reads into
// one reused buffer (net's `onread`). Body pieces handed to `onBody` are views
// into that input, valid only during the call. A head and body that arrive in
// one read are delivered in one synchronous run: onHead, onBody, onEnd.
import { parseHeaderBlock, ResponseParseError, type ResponseHeaders } from "./http1-header-block.js";
import { connectionCloses, isDigits, parseChunkLine, parseStatusLine } from "./http1-response-syntax.js";

export { parseHeaderBlock, ResponseParseError, type ResponseHeaders } from "./http1-header-block.js";

export interface ResponseParserEvents {
  /**
   * The final (non-1xx) head. `complete`: the response has no body (HEAD, 204, 304,
   * Content-Length: 0); onEnd follows at once. `close`: HTTP/1.0 without keep-alive, or
   * Connection: close, or a body delimited by the close — the connection can't be reused.
   */
  onHead(status: number, headers: ResponseHeaders, complete: boolean, close: boolean): void;
  /** A piece of the body: a view into the bytes being parsed, valid only during this call. */
  onBody(chunk: Buffer): void;
  onEnd(trailers: ResponseHeaders | undefined): void;
}

const MAX_HEAD = 80 * 1024;
const MAX_CHUNK_LINE = 4096;
const CRLFCRLF = Buffer.from("\r\n\r\n");

const enum State {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

export interface ResponseParser {
  /** Starts the next exchange on the connection (the parser of a fresh connection starts ready). */
  reset(isHead: boolean): void;
  /** Feeds bytes; throws ResponseParseError (also for bytes after the response: no pipelining). */
  execute(data: Buffer): void;
  /** The connection closed: completes a read-until-close body, else throws if mid-message. */
  finish(): void;
  readonly done: boolean;
  /** True once a final (non-1xx) head was parsed. */
  readonly started: boolean;
  /** Set before onEnd when bytes follow the response in the same input: the connection must go. */
  readonly excess: boolean;
}

class Http1ResponseParser implements ResponseParser {
  private state = State.Head;
  private isHead: boolean;
  /** A partial head (a copy: the input buffer is reused by the caller). */
  private head: Buffer | undefined = undefined;
  private remaining = 0;
  private trailerBuf = "";
  private chunkLine = "";
  started = false;
  excess = false;

  constructor(
    isHead: boolean,
    private readonly ev: ResponseParserEvents,
  ) {
    this.isHead = isHead;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  reset(isHead: boolean): void {
    this.state = State.Head;
    this.isHead = isHead;
    this.head = undefined;
    this.remaining = 0;
    this.trailerBuf = "";
    this.chunkLine = "";
    this.started = false;
    this.excess = false;
  }

  finish(): void {
    if (this.state === State.UntilClose) return this.end(undefined, 0);
    if (this.state !== State.Done) throw new ResponseParseError("connection closed before the response ended");
  }

  /**
   * The response is complete. `leftover` bytes followed it in the input: the caller learns it
   * (`excess`) before onEnd, and they are refused afterwards unless onEnd reset the parser.
   */
  private end(trailers: ResponseHeaders | undefined, leftover: number): void {
    this.state = State.Done;
    this.excess = leftover > 0;
    this.ev.onEnd(trailers);
    if (leftover > 0 && (this.state as State) === State.Done) throw new ResponseParseError("bytes after the response");
  }

  /** Parses a complete head (status line + fields, no final CRLFCRLF); returns whether the response is final. */
  private onHeadBytes(raw: string): boolean {
    let eol = raw.indexOf("\r\n");
    if (eol < 0) eol = raw.length;
    const sl = parseStatusLine(raw, eol);
    if (sl < 0) throw new ResponseParseError("malformed response status line");
    const status = sl % 1000;
    const headers: ResponseHeaders = {};
    // A bare CR or LF, or a NUL, ends up inside a name or value here and fails their checks.
    if (eol < raw.length) parseHeaderBlock(raw, headers, eol + 2);
    if (status < 200) {
      if (status === 101) throw new ResponseParseError("unexpected 101 Switching Protocols");
      return false; // interim response (100 Continue, 103 Early Hints): the final one follows
    }
    this.started = true;
    let close = connectionCloses(headers["connection"], sl < 1000);
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (this.isHead || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (te !== undefined) {
      if (cl !== undefined) throw new ResponseParseError("response has both Content-Length and Transfer-Encoding");
      const codings = (Array.isArray(te) ? te.join(",") : te).toLowerCase().split(",").map((s) => s.trim());
      if (codings[codings.length - 1] !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
        // Not chunked last: the body would run to the close (RFC 9112 §6.3); only chunked is accepted.
        throw new ResponseParseError(`unsupported response transfer-encoding '${codings.join(",")}'`);
      }
      this.state = State.ChunkSize;
    } else if (typeof cl === "string" && isDigits(cl)) {
      // The common case: one plain Content-Length.
      this.remaining = Number(cl);
      this.state = this.remaining === 0 ? State.Done : State.Fixed;
    } else if (cl !== undefined) {
      const values = (Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(",").map((s) => s.trim()));
      if (!values.every((v) => isDigits(v) && v === values[0])) throw new ResponseParseError("invalid or conflicting response Content-Length");
      this.remaining = Number(values[0]);
      this.state = this.remaining === 0 ? State.Done : State.Fixed;
      if (Array.isArray(cl)) headers["content-length"] = values[0]!;
    } else {
      this.state = State.UntilClose;
      close = true;
    }
    this.ev.onHead(status, headers, this.state === State.Done, close);
    return true;
  }

  execute(input: Buffer): void {
    let data = input;
    while (data.length > 0) {
      switch (this.state) {
        case State.Head: {
          const buf = this.head ? Buffer.concat([this.head, data]) : data;
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw new ResponseParseError("response head too large");
            // Kept across reads: copied, the caller's buffer is reused.
            this.head = buf === data ? Buffer.from(data) : buf;
            return;
          }
          this.head = undefined;
          if (end > MAX_HEAD) throw new ResponseParseError("response head too large");
          const final = this.onHeadBytes(buf.toString("latin1", 0, end));
          data = buf.subarray(end + 4);
          if (final && (this.state as State) === State.Done) return this.end(undefined, data.length);
          continue;
        }
        case State.Fixed: {
          const n = this.remaining < data.length ? this.remaining : data.length;
          this.remaining -= n;
          if (this.remaining > 0) return this.ev.onBody(data);
          this.state = State.Done;
          this.ev.onBody(n === data.length ? data : data.subarray(0, n));
          // onBody may have aborted the exchange; the framing still ends here.
          return this.end(undefined, data.length - n);
        }
        case State.UntilClose:
          return this.ev.onBody(data);
        case State.ChunkSize: {
          const nl = data.indexOf(10);
          this.chunkLine += data.toString("latin1", 0, nl < 0 ? data.length : nl + 1);
          if (this.chunkLine.length > MAX_CHUNK_LINE) throw new ResponseParseError("response chunk line too long");
          if (nl < 0) return;
          data = data.subarray(nl + 1);
          const line = this.chunkLine;
          this.chunkLine = "";
          if (line.charCodeAt(line.length - 2) !== 0x0d) throw new ResponseParseError("bare LF in a response chunk line");
          const size = parseChunkLine(line);
          if (size < 0) throw new ResponseParseError("invalid response chunk size");
          this.remaining = size;
          this.state = size === 0 ? State.Trailers : State.ChunkData;
          continue;
        }
        case State.ChunkData: {
          const n = this.remaining < data.length ? this.remaining : data.length;
          const piece = n === data.length ? data : data.subarray(0, n);
          data = data.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkDataEnd;
          this.ev.onBody(piece);
          continue;
        }
        case State.ChunkDataEnd: {
          // The CRLF after the chunk's data (may arrive split).
          const need = 2 - this.chunkLine.length;
          const take = need < data.length ? need : data.length;
          this.chunkLine += data.toString("latin1", 0, take);
          data = data.subarray(take);
          if (this.chunkLine.length < 2) return;
          if (this.chunkLine !== "\r\n") throw new ResponseParseError("response chunk not followed by CRLF");
          this.chunkLine = "";
          this.state = State.ChunkSize;
          continue;
        }
        case State.Trailers: {
          const before = this.trailerBuf.length;
          this.trailerBuf += data.toString("latin1");
          if (this.trailerBuf.length > MAX_HEAD) throw new ResponseParseError("response trailers too large");
          const tb = this.trailerBuf;
          const end = tb.startsWith("\r\n") ? 0 : tb.indexOf("\r\n\r\n");
          if (end < 0) return;
          const consumed = end === 0 ? 2 : end + 4;
          this.trailerBuf = "";
          let trailers: ResponseHeaders | undefined;
          if (end > 0) {
            const block = tb.slice(0, end);
            if (/\r(?!\n)|(?<!\r)\n|\0/.test(block)) throw new ResponseParseError("invalid response trailer");
            parseHeaderBlock(block, (trailers = {}));
          }
          return this.end(trailers, before + data.length - consumed);
        }
        case State.Done:
          throw new ResponseParseError("bytes after the response");
      }
    }
  }
}

/**
 * A parser for one connection's responses; `isHead`: the first request is HEAD (no body
 * whatever the head says; 1xx, 204 and 304 are handled here). 1xx interim responses are skipped.
 */
export function createResponseParser(isHead: boolean, ev: ResponseParserEvents): ResponseParser {
  return new Http1ResponseParser(isHead, ev);
}
