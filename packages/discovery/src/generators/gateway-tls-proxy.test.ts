// The real weft-proxy as an ingress gateway serving what discovery generates for
// Istio's "Secure Gateways" task: certificates made with openssl, the
// Gateway's `kubernetes://<credentialName>` Secrets served over ADS by a small
// test server (discovery's own SDS is separate work), CDS/EDS/LDS/RDS from the
// real generators. curl reaches it with --resolve and --cacert.
import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packAny, TypeUrl, type VersionedResource } from "@weft/xds-api";
import { SecretSchema } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate, proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";
import { startStaticAdsServer, type StaticAdsServer } from "../test-util/static-ads-server.js";
import { proxyBuilt, startWeftProxy, type WeftProxyProcess } from "../test-util/weft-proxy-process.js";

const run = promisify(execFile);
const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"]);
    return true;
  } catch {
    return false;
  }
})();

/** A CA and leaves signed by it, with openssl. */
function makeCerts(dir: string): void {
  const ossl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  for (const ca of ["server-ca", "client-ca"]) {
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/O=weft test/CN=${ca}`, "-keyout", `${ca}.key`, "-out", `${ca}.crt`);
  }
  const leaf = (name: string, ca: string, ext: string): void => {
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
  };
  leaf("reviews", "server-ca", "subjectAltName=DNS:reviews.example.com\nextendedKeyUsage=serverAuth\n");
  leaf("mtls", "server-ca", "subjectAltName=DNS:mtls.example.com\nextendedKeyUsage=serverAuth\n");
  leaf("client", "client-ca", "subjectAltName=DNS:client.example.com\nextendedKeyUsage=clientAuth\n");
}

describe.skipIf(!proxyBuilt || !hasOpenssl)("weft-proxy serving a generated HTTPS gateway", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-gw-tls-"));
  let backend: http.Server | undefined;
  let ads: StaticAdsServer | undefined;
  let proxy: WeftProxyProcess | undefined;
  let gwPort = 0;

  const freePort = (): Promise<number> =>
    new Promise((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });

  beforeAll(async () => {
    makeCerts(dir);
    backend = http.createServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.url} xfcc=${req.headers["x-forwarded-client-cert"] ? "yes" : "no"}`));
    await new Promise<void>((r) => backend!.listen(0, "127.0.0.1", r));
    const backendPort = (backend.address() as net.AddressInfo).port;
    gwPort = await freePort();
    // No Service selects the gateway, so each server binds its own port number.
    const push = smallPush(`apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  clusterIP: 10.96.30.1
  selector: { app: web }
  ports: [{ name: http, port: 8000, targetPort: ${backendPort} }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, namespace: default, labels: { app: web, sidecar.istio.io/inject: "false" } }
spec: { serviceAccountName: web }
status: { podIP: 127.0.0.1, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: ${gwPort}, name: https-reviews, protocol: HTTPS }
    tls: { mode: SIMPLE, credentialName: reviews-credential }
    hosts: [reviews.example.com]
  - port: { number: ${gwPort}, name: https-mtls, protocol: HTTPS }
    tls: { mode: MUTUAL, credentialName: mtls-credential }
    hosts: [mtls.example.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web, namespace: default }
spec:
  hosts: [reviews.example.com, mtls.example.com]
  gateways: [istio-system/mygateway]
  http: [{ route: [{ destination: { host: web, port: { number: 8000 } } }] }]
`, { enableAutoMtls: false }); // no agent here to serve sds-grpc for in-mesh mTLS upstream
    expect(push.errors).toEqual([]);
    const node = proxyOf({ type: "router", ip: "127.0.0.1", pod: "ingress", namespace: "istio-system", labels: { istio: "ingressgateway" } });
    expect(json(push, node, "Listener").map((l) => l.name)).toEqual([`0.0.0.0_${gwPort}`]);
    const pem = (f: string): string => readFileSync(join(dir, f), "utf8");
    const secret = (name: string, body: JsonObject): VersionedResource => ({ name, version: "1", resource: packAny(SecretSchema, create(SecretSchema, { name, ...body })) });
    const inline = (s: string): JsonObject => ({ specifier: { case: "inlineString", value: s } });
    const resources = new Map<string, VersionedResource[]>();
    for (const t of [TypeUrl.Cluster, TypeUrl.ClusterLoadAssignment, TypeUrl.Listener, TypeUrl.RouteConfiguration]) resources.set(t, generate(push, node, t));
    resources.set(TypeUrl.Secret, [
      secret("kubernetes://reviews-credential", { type: { case: "tlsCertificate", value: { certificateChain: inline(pem("reviews.crt")), privateKey: inline(pem("reviews.key")) } } }),
      secret("kubernetes://mtls-credential", { type: { case: "tlsCertificate", value: { certificateChain: inline(pem("mtls.crt")), privateKey: inline(pem("mtls.key")) } } }),
      secret("kubernetes://mtls-credential-cacert", { type: { case: "validationContext", value: { trustedCa: inline(pem("client-ca.crt")) } } }),
    ] as VersionedResource[]);
    ads = await startStaticAdsServer(resources);
    const adsSource = { ads: {}, resource_api_version: "V3" };
    const boot = {
      node: { id: "router~127.0.0.1~ingress.istio-system~istio-system.svc.cluster.local", cluster: "istio-ingressgateway.istio-system" },
      dynamic_resources: { ads_config: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [{ envoy_grpc: { cluster_name: "xds-grpc" } }] }, cds_config: adsSource, lds_config: adsSource },
      static_resources: {
        clusters: [
          {
            name: "xds-grpc",
            type: "STATIC",
            connect_timeout: "1s",
            typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } },
            load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: ads.port } } } }] }] },
          },
        ],
      },
    };
    proxy = await startWeftProxy(dir, boot, { host: "127.0.0.1", port: gwPort }, () => `(NACKs: ${ads!.nacks.join(" | ")})`);
  }, 90_000);

  afterAll(async () => {
    proxy?.stop();
    await ads?.close();
    await new Promise((resolve) => (backend ? backend.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  /** curl to `host` through the gateway; `<status> <body>`, or the failure when the handshake fails. */
  async function curl(host: string, extra: string[] = []): Promise<string> {
    try {
      const { stdout } = await run("curl", ["-sS", "--max-time", "10", "--resolve", `${host}:${gwPort}:127.0.0.1`, "--cacert", join(dir, "server-ca.crt"), "-w", " %{http_code}", ...extra, `https://${host}:${gwPort}/status`]);
      return stdout;
    } catch (err) {
      return `curl failed: ${(err as { stderr?: string }).stderr ?? String(err)}`;
    }
  }

  it("SIMPLE: the right certificate for the SNI, routed by the https.* route config to the backend", async () => {
    expect(await curl("reviews.example.com")).toBe(`backend saw reviews.example.com:${gwPort} /status xfcc=no 200`);
    expect(ads!.nacks).toEqual([]);
  });

  it("MUTUAL: a client without a certificate is refused in the handshake, one with a certificate from the client CA gets through", async () => {
    // Under TLS 1.3 the server's certificate_required alert follows the client's Finished, so curl
    // reports it as a failed handshake (35), send (55: getpeername on the reset socket) or receive (56)
    // depending on timing; each means the request never got through.
    expect(await curl("mtls.example.com")).toMatch(/^curl failed: (curl: \((35|55|56)\)|.*(alert|certificate required|handshake|reset|SSL))/i);
    expect(await curl("mtls.example.com", ["--cert", join(dir, "client.crt"), "--key", join(dir, "client.key")])).toBe(`backend saw mtls.example.com:${gwPort} /status xfcc=yes 200`);
  });

  it("each SNI gets its own certificate: the reviews certificate is not valid for mtls.example.com and vice versa", async () => {
    const { stdout } = await run("sh", ["-c", `echo | openssl s_client -connect 127.0.0.1:${gwPort} -servername reviews.example.com 2>/dev/null | openssl x509 -noout -ext subjectAltName`]);
    expect(stdout).toContain("DNS:reviews.example.com");
    const other = await run("sh", ["-c", `echo | openssl s_client -connect 127.0.0.1:${gwPort} -servername mtls.example.com 2>/dev/null | openssl x509 -noout -ext subjectAltName`]);
    expect(other.stdout).toContain("DNS:mtls.example.com");
  });

  it("an SNI no server names finds no filter chain: the connection is closed", async () => {
    expect(await curl("unknown.example.com", ["-k"])).toMatch(/^curl failed/);
  });
});
