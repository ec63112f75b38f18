// A strict, incremental HTTP/1.1 response parser for the upstream pool
// (RFC 9112): status line, header fields, then the body framed by
// Transfer-Encoding: chunked, Content-Length, or the connection's close.
// What a proxy must not accept from an upstream is refused (an error resets
// the exchange): obs-fold, bare CR/LF inside fields, NUL and control bytes,
// Content-Length with Transfer-Encoding, conflicting Content-Lengths, a
// transfer coding other than chunked, oversized heads or chunk lines.
export type ResponseHeaders = Record<string, string | string[]>;

export interface ResponseHead {
  status: number;
  /** HTTP/1.0 response, or Connection: close: the connection can't be reused. */
  close: boolean;
  headers: ResponseHeaders;
}

export interface ResponseParserEvents {
  /** Return nothing; the body framing was decided from the head and `noBody`. */
  onHead(head: ResponseHead): void;
  /** Return false to ask the caller to stop feeding (backpressure). */
  onBody(chunk: Buffer): void;
  onEnd(trailers: ResponseHeaders | undefined): void;
}

export class ResponseParseError extends Error {
  override readonly name = "ResponseParseError";
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
  /** Feeds bytes; throws ResponseParseError (also for bytes after the response: no pipelining). */
  execute(data: Buffer): void;
  /** The connection closed: completes a read-until-close body, else throws if mid-message. */
  finish(): void;
  readonly done: boolean;
  /** True once a final (non-1xx) head was parsed. */
  readonly started: boolean;
}

// tchar (RFC 9110 §5.6.2) by char code.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** Field value byte: HTAB, SP, VCHAR or obs-text — never CR, LF, NUL or another control. */
const valueByteOk = (c: number): boolean => c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff);

/**
 * Header lines of a latin1 string (`name: value` separated by CRLF), by index scanning: no
 * split, no regex; names lower-cased, values stripped of SP/HTAB only. A bare CR or LF, or a
 * NUL, ends up inside a name or value and fails their checks.
 */
export function parseHeaderBlock(block: string, into: ResponseHeaders): void {
  const n = block.length;
  let i = 0;
  while (i < n) {
    let eol = block.indexOf("\r\n", i);
    if (eol < 0) eol = n;
    if (eol === i) {
      i += 2;
      continue;
    }
    const first = block.charCodeAt(i);
    if (first === 0x20 || first === 0x09) throw new ResponseParseError("obs-fold in a response header");
    let colon = i;
    while (colon < eol && TCHAR[block.charCodeAt(colon)] === 1) colon++;
    if (colon === i || colon === eol || block.charCodeAt(colon) !== 0x3a) {
      throw new ResponseParseError(colon < eol && block.charCodeAt(colon) !== 0x3a ? `invalid response header name '${block.slice(i, eol).split(":")[0]}'` : "malformed response header line");
    }
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (block.charCodeAt(vs) === 0x20 || block.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (block.charCodeAt(ve - 1) === 0x20 || block.charCodeAt(ve - 1) === 0x09)) ve--;
    for (let k = vs; k < ve; k++) {
      if (!valueByteOk(block.charCodeAt(k))) throw new ResponseParseError(`invalid character in response header '${block.slice(i, colon)}'`);
    }
    const key = block.slice(i, colon).toLowerCase();
    const value = block.slice(vs, ve);
    const prev = into[key];
    if (prev === undefined) into[key] = value;
    else if (typeof prev === "string") into[key] = [prev, value];
    else prev.push(value);
    i = eol + 2;
  }
}

/** 1 to 15 ASCII digits. */
function isDigits(v: string): boolean {
  if (v.length === 0 || v.length > 15) return false;
  for (let k = 0; k < v.length; k++) {
    const d = v.charCodeAt(k);
    if (d < 0x30 || d > 0x39) return false;
  }
  return true;
}

/** Whether the connection ends with this response: HTTP/1.0 unless keep-alive, HTTP/1.1 on close. */
function connectionCloses(conn: string | string[] | undefined, http10: boolean): boolean {
  if (conn === undefined) return http10;
  const v = Array.isArray(conn) ? conn.join(",") : conn;
  const lower = v.length === 10 || v.length === 5 ? v.toLowerCase() : undefined;
  if (lower === "keep-alive") return false;
  if (lower === "close") return true;
  const tokens = v.toLowerCase().split(",").map((t) => t.trim());
  return http10 ? !tokens.includes("keep-alive") : tokens.includes("close");
}

/** `HTTP/1.x SSS[ reason]` → [minor version, status], or undefined. */
function parseStatusLine(line: string): [number, number] | undefined {
  if (line.length < 12 || !line.startsWith("HTTP/1.") || line.charCodeAt(8) !== 0x20) return undefined;
  const minor = line.charCodeAt(7) - 0x30;
  if (minor !== 0 && minor !== 1) return undefined;
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const d = line.charCodeAt(k) - 0x30;
    if (d < 0 || d > 9) return undefined;
    status = status * 10 + d;
  }
  if (line.length > 12) {
    if (line.charCodeAt(12) !== 0x20) return undefined;
    for (let k = 13; k < line.length; k++) if (!valueByteOk(line.charCodeAt(k))) return undefined;
  }
  return [minor, status];
}

/**
 * `noBody(status)`: the request was HEAD (or the status forbids a body: 1xx, 204, 304 are handled here).
 * 1xx interim responses are skipped (100 Continue, 103 Early Hints).
 */
export function createResponseParser(isHead: boolean, ev: ResponseParserEvents): ResponseParser {
  let state = State.Head;
  let head: Buffer | undefined;
  let remaining = 0;
  let trailerBuf = "";
  let chunkLine = "";
  let started = false;

  const onHeadBytes = (raw: string): void => {
    const eol = raw.indexOf("\r\n");
    const statusLine = eol < 0 ? raw : raw.slice(0, eol);
    const m = parseStatusLine(statusLine);
    if (!m) throw new ResponseParseError("malformed response status line");
    const status = m[1];
    const headers: ResponseHeaders = {};
    const block = eol < 0 ? "" : raw.slice(eol + 2);
    // A bare CR or LF, or a NUL, ends up inside a name or value here and fails their checks.
    parseHeaderBlock(block, headers);
    if (status < 200) {
      if (status === 101) throw new ResponseParseError("unexpected 101 Switching Protocols");
      state = State.Head; // interim response: the final one follows
      return;
    }
    started = true;
    let close = connectionCloses(headers["connection"], m[0] === 0);
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (isHead || status === 204 || status === 304) {
      state = State.Done;
    } else if (te !== undefined) {
      if (cl !== undefined) throw new ResponseParseError("response has both Content-Length and Transfer-Encoding");
      const codings = (Array.isArray(te) ? te.join(",") : te).toLowerCase().split(",").map((s) => s.trim());
      if (codings[codings.length - 1] !== "chunked" || codings.indexOf("chunked") !== codings.length - 1) {
        // Not chunked last: the body runs to the close (RFC 9112 §6.3), but only identity-safe when it is alone.
        throw new ResponseParseError(`unsupported response transfer-encoding '${codings.join(",")}'`);
      }
      state = State.ChunkSize;
    } else if (typeof cl === "string" && isDigits(cl)) {
      // The common case: one plain Content-Length.
      remaining = Number(cl);
      state = remaining === 0 ? State.Done : State.Fixed;
    } else if (cl !== undefined) {
      const values = (Array.isArray(cl) ? cl : [cl]).flatMap((v) => v.split(",").map((s) => s.trim()));
      if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) throw new ResponseParseError("invalid or conflicting response Content-Length");
      remaining = Number(values[0]);
      state = remaining === 0 ? State.Done : State.Fixed;
      if (Array.isArray(cl)) headers["content-length"] = values[0]!;
    } else {
      state = State.UntilClose;
      close = true;
    }
    ev.onHead({ status, close, headers });
    if (state === State.Done) ev.onEnd(undefined);
  };

  const execute = (input: Buffer): void => {
    let data = input;
    while (data.length > 0) {
      switch (state) {
        case State.Head: {
          const buf = head ? Buffer.concat([head, data]) : data;
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw new ResponseParseError("response head too large");
            head = buf;
            return;
          }
          head = undefined;
          onHeadBytes(buf.toString("latin1", 0, end));
          data = buf.subarray(end + 4);
          continue;
        }
        case State.Fixed: {
          const n = Math.min(remaining, data.length);
          const piece = n === data.length ? data : data.subarray(0, n);
          data = data.subarray(n);
          remaining -= n;
          if (remaining === 0) state = State.Done;
          ev.onBody(piece);
          if (state === State.Done) ev.onEnd(undefined);
          continue;
        }
        case State.UntilClose:
          ev.onBody(data);
          return;
        case State.ChunkSize: {
          const nl = data.indexOf(10);
          const part = data.toString("latin1", 0, nl < 0 ? data.length : nl + 1);
          chunkLine += part;
          if (chunkLine.length > MAX_CHUNK_LINE) throw new ResponseParseError("response chunk line too long");
          if (nl < 0) return;
          data = data.subarray(nl + 1);
          if (!chunkLine.endsWith("\r\n")) throw new ResponseParseError("bare LF in a response chunk line");
          const sizeText = chunkLine.slice(0, -2).split(";")[0]!.trim();
          chunkLine = "";
          if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new ResponseParseError("invalid response chunk size");
          remaining = parseInt(sizeText, 16);
          state = remaining === 0 ? State.Trailers : State.ChunkData;
          continue;
        }
        case State.ChunkData: {
          const n = Math.min(remaining, data.length);
          const piece = n === data.length ? data : data.subarray(0, n);
          data = data.subarray(n);
          remaining -= n;
          if (remaining === 0) {
            state = State.ChunkDataEnd;
            chunkLine = "";
          }
          ev.onBody(piece);
          continue;
        }
        case State.ChunkDataEnd: {
          // The CRLF after the chunk's data (may arrive split).
          const need = 2 - chunkLine.length;
          chunkLine += data.toString("latin1", 0, Math.min(need, data.length));
          data = data.subarray(Math.min(need, data.length));
          if (chunkLine.length < 2) return;
          if (chunkLine !== "\r\n") throw new ResponseParseError("response chunk not followed by CRLF");
          chunkLine = "";
          state = State.ChunkSize;
          continue;
        }
        case State.Trailers: {
          trailerBuf += data.toString("latin1", 0, data.length);
          if (trailerBuf.length > MAX_HEAD) throw new ResponseParseError("response trailers too large");
          let end: number;
          if (trailerBuf.startsWith("\r\n")) end = 0;
          else {
            end = trailerBuf.indexOf("\r\n\r\n");
            if (end < 0) return;
          }
          const block = trailerBuf.slice(0, end);
          const rest = trailerBuf.slice(end === 0 ? 2 : end + 4);
          trailerBuf = "";
          let trailers: ResponseHeaders | undefined;
          if (block.length > 0) {
            if (/\r(?!\n)|(?<!\r)\n|\0/.test(block)) throw new ResponseParseError("invalid response trailer");
            parseHeaderBlock(block, (trailers = {}));
          }
          state = State.Done;
          ev.onEnd(trailers);
          if (rest.length > 0) throw new ResponseParseError("bytes after the response");
          return;
        }
        case State.Done:
          throw new ResponseParseError("bytes after the response");
      }
    }
  };

  return {
    execute,
    finish() {
      if (state === State.UntilClose) {
        state = State.Done;
        ev.onEnd(undefined);
        return;
      }
      if (state !== State.Done) throw new ResponseParseError("connection closed before the response ended");
    },
    get done() {
      return state === State.Done;
    },
    get started() {
      return started;
    },
  };
}
