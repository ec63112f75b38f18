// Istio's "Secure Gateways" task, as its reader runs it: openssl makes a CA and a certificate
// for httpbin.example.com, the certificate goes into a Secret in the ingress gateway's
// namespace, a Gateway server on 443 names it as credentialName, and curl reaches httpbin
// over TLS through the ingress. The same files then exercise rotation and MUTUAL.
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SECURE_HOST = "httpbin.example.com";

export interface Pki {
  dir: string;
  /** The CA clients trust (`--cacert`). */
  caCert: string;
  cert: string;
  key: string;
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });

/** A root CA `/O=<org>/CN=example.com` and a certificate for `cn` signed by it (the task's commands). */
export async function makePki(org: string, cn = SECURE_HOST, dir?: string): Promise<Pki> {
  dir ??= await mkdtemp(join(tmpdir(), "weft-e2e-certs-"));
  const name = (ext: string) => join(dir, `${org.replace(/\W/g, "")}-${cn}.${ext}`);
  const caCert = join(dir, `${org.replace(/\W/g, "")}-ca.crt`);
  const caKey = join(dir, `${org.replace(/\W/g, "")}-ca.key`);
  openssl(["req", "-x509", "-sha256", "-nodes", "-days", "2", "-newkey", "rsa:2048", "-subj", `/O=${org}/CN=example.com`, "-keyout", caKey, "-out", caCert]);
  openssl(["req", "-out", name("csr"), "-newkey", "rsa:2048", "-nodes", "-keyout", name("key"), "-subj", `/CN=${cn}/O=${org}`]);
  // A SAN as well as the CN: what curl checks is the SAN when there is one.
  const ext = name("ext");
  await writeFile(ext, `subjectAltName=DNS:${cn}\n`);
  openssl(["x509", "-req", "-sha256", "-days", "2", "-CA", caCert, "-CAkey", caKey, "-set_serial", String(Date.now()), "-in", name("csr"), "-out", name("crt"), "-extfile", ext]);
  return { dir, caCert, cert: name("crt"), key: name("key") };
}

async function b64(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}

async function yamlFile(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** The credential Secret in istio-system: kubernetes.io/tls, or generic with ca.crt for MUTUAL. */
export async function credentialSecret(server: Pki, clientCa?: Pki): Promise<string> {
  const data = [`  tls.crt: ${await b64(server.cert)}`, `  tls.key: ${await b64(server.key)}`, ...(clientCa ? [`  ca.crt: ${await b64(clientCa.caCert)}`] : [])];
  return yamlFile(
    server.dir,
    `secret-${Date.now()}.yaml`,
    `apiVersion: v1\nkind: Secret\nmetadata: {name: httpbin-credential, namespace: istio-system}\ntype: ${clientCa ? "Opaque" : "kubernetes.io/tls"}\ndata:\n${data.join("\n")}\n`,
  );
}

/** The task's Gateway (443, `mode`) and a VirtualService for httpbin.example.com bound to it. */
export async function secureGateway(dir: string, mode: "SIMPLE" | "MUTUAL"): Promise<string> {
  return yamlFile(
    dir,
    `gateway-${mode.toLowerCase()}.yaml`,
    `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: mygateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: ${mode}, credentialName: httpbin-credential}
    hosts: [${SECURE_HOST}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin-secure, namespace: default}
spec:
  hosts: [${SECURE_HOST}]
  gateways: [mygateway]
  http:
  - match:
    - uri: {prefix: /status}
    - uri: {prefix: /delay}
    route:
    - destination:
        host: httpbin
        port: {number: 8000}
`,
  );
}

export interface CurlResult {
  code: number;
  status: string;
  stderr: string;
}

/** `curl --resolve` to the ingress's HTTPS port with SNI httpbin.example.com: exit code and status. */
export function curlHttps(port: number, path: string, options: { caCert: string; clientCert?: Pki }): Promise<CurlResult> {
  const args = ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--resolve", `${SECURE_HOST}:${port}:127.0.0.1`, "--cacert", options.caCert];
  if (options.clientCert) args.push("--cert", options.clientCert.cert, "--key", options.clientCert.key);
  args.push(`https://${SECURE_HOST}:${port}${path}`);
  return new Promise((resolve) => {
    execFile("curl", args, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, status: stdout.trim(), stderr: stderr.trim() }));
  });
}
