// Two weft-proxy processes in mTLS, as two Istio sidecars: curl → sleep's
// sidecar (UpstreamTlsContext chosen by tlsMode: istio, istio.alpn) → httpbin's
// sidecar (TLS inbound chain picked by the ClientHello's ALPN, XFCC) → Debian's
// httpbin. Secrets come from a real SDS server over each sidecar's Unix socket;
// a rotation under a request loop fails nothing.
import { execFile } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpbinAvailable, startHttpbin } from "../test-util/httpbin.js";
import { clientSidecar, serverSidecar } from "../test-util/sidecar-bootstraps.js";
import { spawnProxy, type ProxyProcess } from "../test-util/spawn-proxy.js";
import { createTestPki, type TestCa, type TestLeaf, type TestPki } from "../test-util/test-pki.js";
import { TestSdsServer } from "../test-util/test-sds-server.js";

const run = promisify(execFile);
const TD = "spiffe://cluster.local";
const sha256 = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");

describe.skipIf(!httpbinAvailable())("two weft-proxy sidecars in mTLS with SDS", () => {
  let dir: string;
  let pki: TestPki;
  let root: TestCa;
  let sleepCert: TestLeaf;
  let httpbinCert: TestLeaf;
  const clientSds = new TestSdsServer();
  const serverSds = new TestSdsServer();
  let app: Awaited<ReturnType<typeof startHttpbin>>;
  let client: ProxyProcess;
  let server: ProxyProcess;
  let outboundPort: number;
  let inboundPort: number;
  let clientAdmin: number;
  let accessLog: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-mtls-"));
    pki = createTestPki();
    root = pki.ca("cluster-local");
    sleepCert = pki.leaf(root, { uris: [`${TD}/ns/default/sa/sleep`] });
    httpbinCert = pki.leaf(root, { uris: [`${TD}/ns/default/sa/httpbin`] });
    await clientSds.listen(join(dir, "sleep-sds.sock"));
    await serverSds.listen(join(dir, "httpbin-sds.sock"));
    clientSds.set("1", { certPem: sleepCert.certPem, keyPem: sleepCert.keyPem, rootPem: root.certPem });
    serverSds.set("1", { certPem: httpbinCert.certPem, keyPem: httpbinCert.keyPem, rootPem: root.certPem });
    app = await startHttpbin();
    [outboundPort, inboundPort, clientAdmin] = [await freePort(), await freePort(), await freePort()];
    const serverAdmin = await freePort();
    accessLog = join(dir, "sleep-access.log");
    [server, client] = await Promise.all([
      spawnProxy(dir, "httpbin-sidecar", serverSidecar({ sdsPath: join(dir, "httpbin-sds.sock"), adminPort: serverAdmin, inboundPort, appPort: app.port }), serverAdmin),
      spawnProxy(dir, "sleep-sidecar", clientSidecar({ sdsPath: join(dir, "sleep-sds.sock"), adminPort: clientAdmin, outboundPort, serverPort: inboundPort, maxRequestsPerConnection: 20, accessLogPath: accessLog }), clientAdmin),
    ]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
    app?.stop();
    await Promise.all([clientSds.stop(), serverSds.stop()]);
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("httpbin sees X-Forwarded-Client-Cert exactly as in Istio", async () => {
    const { stdout } = await run("curl", ["-sS", "--max-time", "10", "-H", "host: httpbin:8000", `http://127.0.0.1:${outboundPort}/headers?show_env=1`]);
    const headers = (JSON.parse(stdout) as { headers: Record<string, string> }).headers;
    expect(headers["X-Forwarded-Client-Cert"]).toBe(`By=${TD}/ns/default/sa/httpbin;Hash=${sha256(sleepCert.certPem)};Subject="";URI=${TD}/ns/default/sa/sleep`);
    // The app's connection was plaintext: the client sidecar set http and the server sidecar kept it
    // (httpbin hides X-Forwarded-* unless show_env).
    expect(headers["X-Forwarded-Proto"]).toBe("http");
  });

  it("the server sidecar refuses a plaintext client and one without a mesh certificate", async () => {
    const plain = await run("curl", ["-sS", "--max-time", "5", `http://127.0.0.1:${inboundPort}/headers`]).then(
      () => "served",
      () => "refused",
    );
    expect(plain).toBe("refused");
    const other = pki.leaf(pki.ca("elsewhere"), { uris: ["spiffe://elsewhere/ns/default/sa/sleep"] });
    const verdict = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: inboundPort, rejectUnauthorized: false, cert: other.certPem, key: other.keyPem, ALPNProtocols: ["istio-http/1.1"] }, () =>
        s.write("GET /headers HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      let data = "";
      s.on("data", (d: Buffer) => (data += d));
      s.on("error", () => resolve("refused"));
      s.on("close", () => resolve(data.startsWith("HTTP/1.1 200") ? "served" : "refused"));
    });
    expect(verdict).toBe("refused");
  });

  it("secrets are in the client sidecar's /config_dump, private key redacted", async () => {
    const dump = (await (await fetch(`http://127.0.0.1:${clientAdmin}/config_dump`)).json()) as { configs: Array<Record<string, unknown>> };
    const secrets = dump.configs.find((c) => String(c["@type"]).endsWith("SecretsConfigDump")) as { dynamic_active_secrets?: Array<{ name: string; secret: Record<string, unknown> }> };
    const names = (secrets.dynamic_active_secrets ?? []).map((s) => s.name).sort();
    expect(names).toEqual(["ROOTCA", "default"]);
    expect(JSON.stringify(secrets)).not.toContain(Buffer.from(sleepCert.keyPem).toString("base64").slice(0, 40));
  });

  it("rotates the client's certificate over SDS under a request loop with zero failures", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const hashes = new Set<string>();
    let failures = 0;
    let total = 0;
    const one = (keepAlive: boolean) =>
      new Promise<void>((resolve) => {
        const req = http.get({ host: "127.0.0.1", port: outboundPort, path: "/headers", headers: { host: "httpbin:8000" }, agent: keepAlive ? agent : false }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => {
            total++;
            if (res.statusCode !== 200) failures++;
            else {
              const xfcc = (JSON.parse(body) as { headers: Record<string, string> }).headers["X-Forwarded-Client-Cert"] ?? "";
              const m = /Hash=([0-9a-f]+)/.exec(xfcc);
              if (m) hashes.add(m[1]!);
            }
            resolve();
          });
        });
        req.on("error", () => {
          total++;
          failures++;
          resolve();
        });
      });
    let stop = false;
    const loops = [true, false].map(async (keepAlive) => {
      while (!stop) await one(keepAlive);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const renewed = pki.leaf(root, { uris: [`${TD}/ns/default/sa/sleep`] });
    clientSds.set("2", { certPem: renewed.certPem, keyPem: renewed.keyPem, rootPem: root.certPem });
    // The server rotates too: new handshakes get its new certificate.
    const renewedServer = pki.leaf(root, { uris: [`${TD}/ns/default/sa/httpbin`] });
    serverSds.set("2", { certPem: renewedServer.certPem, keyPem: renewedServer.keyPem, rootPem: root.certPem });
    const deadline = Date.now() + 15_000;
    while (!hashes.has(sha256(renewed.certPem)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    expect(failures).toBe(0);
    expect(total).toBeGreaterThan(20);
    expect(hashes.has(sha256(sleepCert.certPem))).toBe(true);
    expect(hashes.has(sha256(renewed.certPem))).toBe(true);
    // A new handshake with the server sidecar sees its rotated certificate.
    const presented = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: inboundPort, rejectUnauthorized: false, cert: renewed.certPem, key: renewed.keyPem, ALPNProtocols: ["istio-http/1.1"] }, () => {
        resolve(s.getPeerX509Certificate()!.fingerprint256.replace(/:/g, "").toLowerCase());
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(presented).toBe(sha256(renewedServer.certPem));
    // The sidecar's own access log agrees: every request 200, none with a transport failure (file logs flush in the background).
    let lines: Array<{ code: number; reason: string | null }> = [];
    for (let i = 0; i < 60 && lines.length < total; i++) {
      await new Promise((r) => setTimeout(r, 250));
      if (existsSync(accessLog)) lines = readFileSync(accessLog, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { code: number; reason: string | null });
    }
    expect(lines.length).toBeGreaterThanOrEqual(total);
    expect(lines.filter((l) => l.code !== 200 || l.reason !== null)).toEqual([]);
  }, 60_000);
});
