// Header bytes reach the access log as the client sent them. A client's
// UTF-8 (curl passes its arguments' bytes on unchanged) must come out as the
// same bytes in text and JSON logs, as Envoy writes them, not re-encoded from
// the proxy's one-byte-per-character header strings ("café" as "cafÃ©").
import { execFile, spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine } from "../cli/parse-command-line.js";
import { createProxyRuntime, type WeftProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { startProxy, type RunningProxy } from "../app/start-proxy.js";
import { poller } from "../test-util/until.js";
import { httpListener, staticCluster } from "../test-util/runtime-harness.js";
import { wireText } from "../http/wire-string.js";

const run = promisify(execFile);
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const dir = mkdtempSync(join(tmpdir(), "weft-log-bytes-"));
const textLog = join(dir, "text.log");
const jsonLog = join(dir, "json.log");
const until = poller({ timeoutMs: 10_000, stepMs: 25 });

let upstream: Server;
let proxy: RunningProxy;
let port = 0;

function bootstrap(upstreamPort: number): string {
  const fileLog = (path: string, format: Record<string, unknown>) => ({
    name: "envoy.access_loggers.file",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path, log_format: format },
  });
  const routes = [{ name: "all", domains: ["*"], routes: [{ name: "rüte", match: { prefix: "/" }, route: { cluster: "app" } }] }];
  const accessLog = [
    fileLog(textLog, { text_format_source: { inline_string: 'ua="%REQ(USER-AGENT)%" x="%REQ(X-NAME)%" route=%ROUTE_NAME% « %RESP(X-REPLY)% »\n' } }),
    fileLog(jsonLog, { json_format: { ua: "%REQ(USER-AGENT)%", name: "%REQ(X-NAME)%", route: "%ROUTE_NAME%", reply: "%RESP(X-REPLY)%", note: "né %PROTOCOL%" } }),
  ];
  return JSON.stringify({
    node: { id: "sidecar~127.0.0.1~bytes.default~default.svc.cluster.local", cluster: "bytes.default" },
    static_resources: { listeners: [httpListener("http_in", routes, { access_log: accessLog })], clusters: [staticCluster("app", [upstreamPort])] },
  });
}

/** The log's lines once `n` of them have been flushed. */
async function linesOf(path: string, n: number): Promise<Buffer[]> {
  let lines: Buffer[] = [];
  await until(() => {
    if (!existsSync(path)) return false;
    const all = readFileSync(path);
    lines = [];
    let start = 0;
    for (let i = all.indexOf(0x0a); i >= 0; i = all.indexOf(0x0a, start)) {
      lines.push(all.subarray(start, i));
      start = i + 1;
    }
    return lines.length >= n;
  }, `${n} lines in ${path}`);
  return lines;
}

beforeAll(async () => {
  // The upstream answers with a header holding UTF-8 bytes of its own (node:http writes header strings as UTF-8).
  upstream = createServer((_req, res) => {
    res.setHeader("x-reply", "über");
    res.end("ok");
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const options = parseCommandLine(["--config-yaml", bootstrap((upstream.address() as AddressInfo).port), "--file-flush-interval-msec", "20", "-l", "warning"]);
  proxy = await startProxy(options, { createRuntime: createProxyRuntime, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) as never });
  await until(() => ((proxy.runtime as WeftProxyRuntime).boundPort("http_in") ?? 0) > 0, "the listener to bind");
  port = (proxy.runtime as WeftProxyRuntime).boundPort("http_in")!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await new Promise((r) => upstream?.close(r));
});

describe.skipIf(!hasCurl)("access log bytes (curl)", () => {
  it("writes a client's UTF-8 header bytes and config text as they are, over HTTP/1.1 and HTTP/2", async () => {
    for (const proto of ["--http1.1", "--http2-prior-knowledge"]) {
      const { stdout } = await run("curl", ["-sS", proto, "-A", "café ☕", "-H", "x-name: Zoë", `http://127.0.0.1:${port}/`]);
      expect(stdout).toBe("ok");
    }
    const text = await linesOf(textLog, 2);
    for (const line of text) {
      // Byte for byte: é is C3 A9 (re-encoded it would be C3 83 C2 A9), ☕ is E2 98 95.
      expect(line.toString("utf8")).toBe('ua="café ☕" x="Zoë" route=rüte « über »');
      expect(line.includes(Buffer.from([0xc3, 0x83]))).toBe(false);
    }
    const json = await linesOf(jsonLog, 2);
    for (const line of json) {
      expect(JSON.parse(line.toString("utf8"))).toEqual({ ua: "café ☕", name: "Zoë", route: "rüte", reply: "über", note: expect.stringMatching(/^né HTTP\/(1\.1|2)$/) });
    }
  }, 30_000);
});

describe("wireText()", () => {
  it("decodes a header value's UTF-8 bytes and leaves ASCII alone", () => {
    const wire = (s: string) => Buffer.from(s, "utf8").toString("latin1");
    expect(wireText("plain ascii")).toBe("plain ascii");
    expect(wireText(wire("Zoë ☕"))).toBe("Zoë ☕");
    // A byte that starts no UTF-8 sequence (a latin1 client's é) can't be text: U+FFFD, as TextDecoder reads it.
    expect(wireText("caf\u00e9")).toBe("caf\ufffd");
  });
});
