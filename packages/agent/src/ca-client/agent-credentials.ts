// Where `weft-agent proxy` gets its workload certificates and how its XDS relay reaches
// discovery, decided from the pod's environment as pilot-agent decides it:
//
//   FILE_MOUNTED_CERTS=true     certificates from files (OUTPUT_CERTS or WEFT_CERT_CHAIN /
//                               WEFT_KEY / WEFT_ROOT_CERT); xDS in plaintext
//   a CA token is present       (WEFT_CA_TOKEN_FILE, or Istio's projected token path) key and
//                               CSR → the mesh CA at CA_ADDR, rotation at half-life; the XDS
//                               relay to discovery over TLS with the same token and root,
//                               except with controlPlaneAuthPolicy NONE or a :15010 address
//                               (istiod's plaintext port)
//   neither                     files and plaintext xDS, as before the CA existed
import { existsSync } from "node:fs";
import type { Logger } from "pino";
import type { AgentEnv } from "../env/agent-env.js";
import { createFileCertificateProvider, type CertificateProvider } from "../sds/certificate-provider.js";
import { createPlaintextDialer, type UpstreamDialer } from "../xds-proxy/upstream.js";
import type { CaCertificateProvider } from "./ca-certificate-provider.js";
import { DEFAULT_CA_TOKEN_FILE, createCaCertificateProviderFromSettings, loadCaProviderSettings, type CaProviderSettings } from "./ca-provider-env.js";
import { writeOutputCerts } from "./output-certs.js";
import { createTlsDialer } from "./xds-tls-dialer.js";

export interface AgentCredentials {
  mode: "ca" | "files";
  certificateProvider: CertificateProvider;
  dialer: UpstreamDialer;
  /** Why the sidecar cannot be ready for lack of a certificate, or undefined. */
  certificateNotReady(): string | undefined;
  /** What was chosen, for the startup log line. */
  describe(): Record<string, unknown>;
}

const plaintextXds = (env: AgentEnv) => env.proxyConfig.controlPlaneAuthPolicy === "NONE" || /:15010$/.test(env.proxyConfig.discoveryAddress);

export async function createAgentCredentials(env: AgentEnv, vars: Record<string, string | undefined>, log: Logger): Promise<AgentCredentials> {
  const certLog = log.child({ component: "certs" });
  const fileMounted = (vars.FILE_MOUNTED_CERTS ?? "").toLowerCase() === "true";
  const settings = fileMounted ? undefined : loadCaProviderSettings(vars, env);
  if (!settings) {
    if (!fileMounted && vars.CA_ADDR) {
      certLog.warn(
        { CA_ADDR: vars.CA_ADDR, tokenFile: vars.WEFT_CA_TOKEN_FILE || DEFAULT_CA_TOKEN_FILE },
        "CA_ADDR is set but there is no CA token file; serving certificates from files instead (set WEFT_CA_TOKEN_FILE to the workload's token to use the CA)",
      );
    }
    const provider = await createFileCertificateProvider(env.certs, certLog);
    return {
      mode: "files",
      certificateProvider: provider,
      dialer: createPlaintextDialer(env.proxyConfig.discoveryAddress),
      certificateNotReady: () => undefined,
      describe: () => ({ certificates: "files", certChain: env.certs.certChain, xds: `plaintext ${env.proxyConfig.discoveryAddress}` }),
    };
  }
  if (vars.PROV_CERT) certLog.warn({ PROV_CERT: vars.PROV_CERT }, "PROV_CERT is ignored: Weft's CA authenticates workloads with a token (WEFT_CA_TOKEN_FILE), not a provisioned client certificate");
  if (!existsSync(settings.rootCertPath)) {
    // Not fatal: in the local mesh discovery publishes the root while the sidecars start.
    certLog.warn(
      { rootCert: settings.rootCertPath },
      `mesh root certificate ${settings.rootCertPath} does not exist yet; retrying until it does (set WEFT_CA_ROOT_CERT to discovery's published root, <--ca-dir>/root-cert.pem, or mount ConfigMap istio-ca-root-cert there)`,
    );
  }
  const provider = withOutputCerts(createCaCertificateProviderFromSettings(settings, certLog), vars.OUTPUT_CERTS, certLog);
  const tlsXds = !plaintextXds(env);
  const dialer = tlsXds
    ? createTlsDialer({ address: env.proxyConfig.discoveryAddress, rootCertPath: settings.rootCertPath, tokenPath: settings.tokenPath, ...(settings.servername ? { servername: settings.servername } : {}) })
    : createPlaintextDialer(env.proxyConfig.discoveryAddress);
  return {
    mode: "ca",
    certificateProvider: provider,
    dialer,
    certificateNotReady: () => notReady(provider, settings),
    describe: () => ({
      certificates: `CA ${settings.caAddr}`,
      identity: settings.spiffeId,
      ttlSeconds: settings.ttlSeconds,
      rootCert: settings.rootCertPath,
      xds: `${tlsXds ? "TLS" : "plaintext"} ${env.proxyConfig.discoveryAddress}`,
    }),
  };
}

function notReady(p: CaCertificateProvider, s: CaProviderSettings): string | undefined {
  if (p.current()) return undefined;
  const why = p.lastError();
  return `no workload certificate yet from the CA at ${s.caAddr}${why ? `: ${why}` : " (first request in flight)"}`;
}

/** Mirrors every new certificate into OUTPUT_CERTS when it is set (Istio's behaviour). */
function withOutputCerts(p: CaCertificateProvider, dir: string | undefined, log: Logger): CaCertificateProvider {
  if (!dir) return p;
  p.onChange(() => {
    const cur = p.current();
    if (cur) writeOutputCerts(dir, cur).catch((err) => log.warn({ dir, err: (err as Error).message }, "writing certificates to OUTPUT_CERTS failed"));
  });
  return p;
}
