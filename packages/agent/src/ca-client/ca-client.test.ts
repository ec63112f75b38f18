// The agent's CA client against the real weft-discovery binary (--ca-dir) over TLS on
// loopback: issuance, identity from the token not the CSR, refusals, TLS verification, and
// a real-time rotation of short-lived certificates pushed over one open SDS stream.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unpackAny } from "@weft/xds-api";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryResponse } from "@weft/xds-api/gen/envoy/service/discovery/v3/discovery_pb";
import { AgentError } from "../errors.js";
import { createSdsServer } from "../sds/sds-server.js";
import { createCaCertificateProvider } from "./ca-certificate-provider.js";
import { createCaClient } from "./ca-client.js";
import { createWorkloadCsr } from "./workload-csr.js";
import { createTlsDialer } from "./xds-tls-dialer.js";
import * as x509 from "../test-util/x509.js";

const REPO = resolve(import.meta.dirname, "../../../..");
const DISCOVERY_BIN = join(REPO, "packages/discovery/dist/bin/weft-discovery.js");
const SLEEP_TOKEN = "sleep-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFG";
const log = pino({ level: "silent" });

// Like agent-real.test.ts: skipped (loudly) when discovery is not built, since Nx does not
// order discovery's build before the agent's tests.
const skipReason = existsSync(DISCOVERY_BIN) ? undefined : `ca-client.test.ts skipped: ${DISCOVERY_BIN} not built (npx nx run discovery:build)`;
if (skipReason) console.warn(skipReason);

let dir: string;
let child: ChildProcess;
let caAddr: string;
let stderr = "";

const uriSans = (pem: string) => {
  const c = new x509.X509Certificate(pem);
  return c.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
};

beforeAll(async () => {
  if (skipReason) return;
  dir = await mkdtemp(join(tmpdir(), "weft-ca-client-"));
  await mkdir(join(dir, "config"));
  await mkdir(join(dir, "ca"));
  await writeFile(join(dir, "ca", "workloads.json"), JSON.stringify({ [SLEEP_TOKEN]: { namespace: "default", serviceAccount: "sleep" } }), { mode: 0o600 });
  await writeFile(join(dir, "sleep-token"), `${SLEEP_TOKEN}\n`);
  await writeFile(join(dir, "unknown-token"), "u".repeat(48));
  child = spawn(
    process.execPath,
    [DISCOVERY_BIN, "--config-dir", join(dir, "config"), "--ca-dir", join(dir, "ca"), "--ca-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  caAddr = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`weft-discovery did not start:\n${stderr}`)), 45_000);
    child.stderr!.on("data", (b: Buffer) => {
      stderr += b.toString();
      const m = /"ca":"(127\.0\.0\.1:\d+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.once("exit", (code) => rej(new Error(`weft-discovery exited with ${code}:\n${stderr}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const client = (token = "sleep-token", extra: { servername?: string; root?: string } = {}) =>
  createCaClient({ caAddr, rootCertPath: extra.root ?? join(dir, "ca", "root-cert.pem"), tokenPath: join(dir, token), ...(extra.servername ? { servername: extra.servername } : {}) });

describe.skipIf(skipReason !== undefined)("createCaClient() ↔ weft-discovery --ca-dir", () => {
  it("gets a certificate for the workload behind the token, verifying the CA against the published root", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    const chain = await client().createCertificate(csrPem, 3600);
    expect(chain).toHaveLength(2);
    expect(uriSans(chain[0]!)).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
    const leaf = new x509.X509Certificate(chain[0]!);
    expect(leaf.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(leaf.notAfter.getTime() - Date.now()).toBeGreaterThan(3500_000);
  });

  it("verifies the CA by its service name too (servername istiod.istio-system.svc)", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    expect(await client("sleep-token", { servername: "istiod.istio-system.svc" }).createCertificate(csrPem, 600)).toHaveLength(2);
  });

  it("gets its own identity when the CSR asks for another one", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/istio-system/sa/istiod");
    const chain = await client().createCertificate(csrPem, 600);
    expect(uriSans(chain[0]!)).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
  });

  it("is refused with UNAUTHENTICATED for an unknown token, learning nothing else", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    const err = await client("unknown-token").createCertificate(csrPem, 600).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toBe("authentication failed");
  });

  it("says to set WEFT_CA_SERVERNAME when the CA's certificate does not cover the name dialled", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    const err = await client("sleep-token", { servername: "discovery.example.org" }).createCertificate(csrPem, 600).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as Error).message).toMatch(/altnames.*set WEFT_CA_SERVERNAME to a name in the CA's certificate/);
  });

  it("refuses to talk to a CA whose certificate does not chain to the configured root", async () => {
    const otherRoot = join(dir, "other-root.pem");
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: "O=evil", keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" }, extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] });
    await writeFile(otherRoot, cert.toString("pem"));
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    const err = await client("sleep-token", { root: otherRoot }).createCertificate(csrPem, 600).catch((e: unknown) => e);
    // The TLS failure, with what to do about it.
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).cause).toBeInstanceOf(ConnectError);
    expect((err as Error).message).toMatch(/self.signed|unable to verify|certificate/i);
    expect((err as Error).message).toContain(`does not chain to ${otherRoot}; point WEFT_CA_ROOT_CERT at the mesh root`);
  });

  it("names the missing token file", async () => {
    const { csrPem } = await createWorkloadCsr("spiffe://cluster.local/ns/default/sa/sleep");
    await expect(client("no-such-token").createCertificate(csrPem, 600)).rejects.toThrow(/CA token file .*no-such-token: ENOENT/);
  });

  it("reaches ADS on the CA's TLS port with the workload token (istiod's 15012), and not without", async () => {
    const { readFile } = await import("node:fs/promises");
    const root = await readFile(join(dir, "ca", "root-cert.pem"));
    const ask = (token?: string) =>
      new Promise<DiscoveryResponse>((res, rej) => {
        const g = new grpc.Client(caAddr, grpc.credentials.createSsl(root));
        const md = new grpc.Metadata();
        if (token) md.set("authorization", `Bearer ${token}`);
        const call = g.makeBidiStreamRequest(
          "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
          (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
          (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
          md,
        );
        call.on("data", (r: DiscoveryResponse) => {
          call.end();
          g.close();
          res(r);
        });
        call.on("error", (e) => {
          g.close();
          rej(e);
        });
        call.write({ node: { id: "sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local" }, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
      });
    const ok = await ask(SLEEP_TOKEN);
    expect(ok.typeUrl).toBe("type.googleapis.com/envoy.config.cluster.v3.Cluster");
    const err = (await ask().catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("the XDS proxy's TLS dialer reaches ADS on the CA port with the token", async () => {
    const dialer = createTlsDialer({ address: caAddr, rootCertPath: join(dir, "ca", "root-cert.pem"), tokenPath: join(dir, "sleep-token"), servername: "istiod.istio-system.svc" });
    async function* requests() {
      yield create(DiscoveryRequestSchema, { node: { id: "sidecar~127.0.0.1~sleep-1.default~default.svc.cluster.local" }, typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
      await new Promise((r) => setTimeout(r, 2000));
    }
    for await (const res of dialer.client().streamAggregatedResources(requests(), { headers: dialer.headers(), timeoutMs: 10_000 })) {
      expect(res.typeUrl).toBe("type.googleapis.com/envoy.config.cluster.v3.Cluster");
      break;
    }
    const bad = createTlsDialer({ address: caAddr, rootCertPath: join(dir, "ca", "root-cert.pem"), tokenPath: join(dir, "unknown-token") });
    const err = await (async () => {
      for await (const _ of bad.client().streamAggregatedResources(requests(), { headers: bad.headers(), timeoutMs: 10_000 })) return undefined;
    })().catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("rotates 4-second certificates at about half-life and SDS pushes each on the same open stream", async () => {
    const provider = createCaCertificateProvider({ client: client(), spiffeId: "spiffe://cluster.local/ns/default/sa/sleep", rootCertPath: join(dir, "ca", "root-cert.pem"), ttlSeconds: 4, logger: log });
    const socket = join(dir, "SDS");
    const sds = await createSdsServer(socket, provider, log);
    const g = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
    const responses: { at: number; res: DiscoveryResponse }[] = [];
    const rotations: { at: number; nextAt: number; notAfter: number }[] = [];
    provider.onChange(() => {
      const at = Date.now();
      rotations.push({ at, nextAt: provider.nextRotationAt()!, notAfter: new x509.X509Certificate(provider.current()!.certChain).notAfter.getTime() });
    });
    const errors: Error[] = [];
    const call = g.makeBidiStreamRequest(
      "/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets",
      (m: MessageInitShape<typeof DiscoveryRequestSchema>) => Buffer.from(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, m))),
      (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
    );
    call.on("data", (res: DiscoveryResponse) => {
      responses.push({ at: Date.now(), res });
      call.write({ versionInfo: res.versionInfo, responseNonce: res.nonce, resourceNames: ["default"], typeUrl: res.typeUrl });
    });
    call.on("error", (e: Error) => errors.push(e));
    try {
      call.write({ node: { id: "sidecar~127.0.0.1~sleep.default~default.svc.cluster.local" }, resourceNames: ["default"], typeUrl: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret" });
      const end = Date.now() + 15_000;
      while (responses.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(errors).toEqual([]);
      expect(responses.length).toBeGreaterThanOrEqual(3);
      const leaves = responses.map(({ res }) => {
        const s = unpackAny(res.resources[0]!, SecretSchema);
        const tc = s.type.case === "tlsCertificate" ? s.type.value : undefined;
        const spec = tc?.certificateChain?.specifier;
        return new x509.X509Certificate(new TextDecoder().decode(spec?.case === "inlineBytes" ? spec.value : new Uint8Array()));
      });
      expect(new Set(leaves.map((l) => l.serialNumber)).size).toBe(leaves.length);
      for (const l of leaves) expect(uriSans(l.toString("pem"))).toEqual([{ type: "url", value: "spiffe://cluster.local/ns/default/sa/sleep" }]);
      // Each certificate is scheduled for renewal at 50 % (±1 % jitter) of its life as
      // received, and the renewal reaches the proxy well before the old one expires.
      for (const r of rotations.slice(0, 3)) expect((r.nextAt - r.at) / (r.notAfter - r.at)).toBeGreaterThan(0.48);
      for (const r of rotations.slice(0, 3)) expect((r.nextAt - r.at) / (r.notAfter - r.at)).toBeLessThan(0.52);
      for (let i = 1; i < responses.length; i++) expect(leaves[i - 1]!.notAfter.getTime() - responses[i]!.at).toBeGreaterThan(500);
      expect(responses.every(({ res }) => res.resources.length === 1)).toBe(true);
    } finally {
      call.end();
      g.close();
      provider.close();
      await sds.close();
    }
  }, 30_000);
});
