#!/usr/bin/env node
// The floor for any proxy written for Node: the least a Node process can do
// to relay HTTP/1.1 keep-alive requests, measured in the same run as the real
// targets so "how close to HAProxy can Node get on this machine" is a number,
// not a guess. It is NOT a proxy anyone should run: no validation, no
// routing, no header rules, no timeouts, one upstream, Content-Length
// responses only, no error handling beyond dropping the connection.
//
// What it keeps from a real proxy: it parses each request head, rewrites it
// (one added header), keeps a pool of upstream connections read through
// net's `onread` (one reused buffer, no stream machinery), and writes each
// response head and body in one write.
//
//   node bench/proxy/node-floor-proxy.mjs <listen port> <upstream port>
import * as net from "node:net";

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) {
  process.stderr.write("usage: node-floor-proxy.mjs <listen port> <upstream port>\n");
  process.exit(2);
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const idle = [];

function upstream() {
  const pooled = idle.pop();
  if (pooled) return pooled;
  const conn = { socket: undefined, buf: undefined, onResponse: undefined };
  conn.socket = net.connect({
    port: upstreamPort,
    host: "127.0.0.1",
    noDelay: true,
    onread: {
      buffer: Buffer.allocUnsafe(64 * 1024),
      callback(n, buf) {
        const chunk = Buffer.from(buf.subarray(0, n));
        conn.buf = conn.buf ? Buffer.concat([conn.buf, chunk]) : chunk;
        const headEnd = conn.buf.indexOf(CRLFCRLF);
        if (headEnd < 0) return;
        const head = conn.buf.toString("latin1", 0, headEnd);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (conn.buf.length < headEnd + 4 + length) return;
        const whole = conn.buf;
        conn.buf = undefined;
        const done = conn.onResponse;
        conn.onResponse = undefined;
        idle.push(conn);
        done(head, whole.subarray(headEnd + 4, headEnd + 4 + length));
      },
    },
  });
  conn.socket.on("error", () => conn.socket.destroy());
  return conn;
}

net
  .createServer({ noDelay: true }, (client) => {
    client.on("error", () => client.destroy());
    let pending;
    client.on("data", (chunk) => {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      const headEnd = pending.indexOf(CRLFCRLF);
      if (headEnd < 0) return;
      const head = pending.toString("latin1", 0, headEnd);
      pending = undefined;
      const up = upstream();
      up.onResponse = (responseHead, body) => {
        const out = Buffer.allocUnsafe(responseHead.length + 4 + body.length);
        out.write(responseHead, 0, "latin1");
        out.write("\r\n\r\n", responseHead.length, "latin1");
        body.copy(out, responseHead.length + 4);
        client.write(out);
      };
      up.socket.write(head + "\r\nx-forwarded-proto: http\r\n\r\n", "latin1");
    });
  })
  .listen(listenPort, "127.0.0.1");
