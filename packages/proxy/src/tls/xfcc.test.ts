// forward_client_cert_details × mTLS or not, with Envoy's rules.
import { describe, expect, it } from "vitest";
import type { DownstreamTls } from "../listener/conn-info.js";
import { applyXfcc, clientCertDetails, compileXfcc, type ForwardClientCert } from "./xfcc.js";

const TLS: DownstreamTls = {
  peerUriSan: "spiffe://cluster.local/ns/istio-demo/sa/sleep",
  peerDnsSans: ["sleep.local", "sleep2.local"],
  peerSubject: "",
  peerCertSha256: "3cb80bdef2f0cd5c2ecb03244a378fb1faecfc192667bd0cb67886d9f7341b80",
  peerCertPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  localUriSan: "spiffe://cluster.local/ns/istio-demo/sa/httpbin",
  version: "TLSv1.3",
  cipher: "TLS_AES_128_GCM_SHA256",
};
const ISTIO = compileXfcc({ forwardClientCertDetails: 2, setCurrentClientCertDetails: { subject: true, dns: false, uri: true, cert: false, chain: false } as never });

describe("x-forwarded-client-cert", () => {
  it("builds Istio's element: By, Hash, Subject, URI", () => {
    expect(clientCertDetails(TLS, ISTIO.details)).toBe(
      'By=spiffe://cluster.local/ns/istio-demo/sa/httpbin;Hash=3cb80bdef2f0cd5c2ecb03244a378fb1faecfc192667bd0cb67886d9f7341b80;Subject="";URI=spiffe://cluster.local/ns/istio-demo/sa/sleep',
    );
  });

  it("orders details as Envoy does (Cert, Chain, Subject, URI, DNS) and repeats DNS", () => {
    const all = compileXfcc({ forwardClientCertDetails: 3, setCurrentClientCertDetails: { dns: true, uri: true, subject: true, chain: true, cert: true } as never });
    expect(all.details).toEqual(["Cert", "Chain", "Subject", "URI", "DNS"]);
    const s = clientCertDetails(TLS, all.details);
    expect(s).toMatch(/^By=[^;]+;Hash=[0-9a-f]{64};Cert="-----BEGIN%20CERTIFICATE-----%0AMIIB/);
    expect(s.endsWith(';Subject="";URI=spiffe://cluster.local/ns/istio-demo/sa/sleep;DNS=sleep.local;DNS=sleep2.local')).toBe(true);
  });

  it("carries a subject that is not ASCII as its UTF-8 bytes (one per character, as header values travel)", () => {
    const s = clientCertDetails({ ...TLS, peerSubject: "CN=José,O=Ünïcode" }, ["Subject"]);
    const subject = /Subject="([^"]*)"/.exec(s)![1]!;
    expect(Buffer.from(subject, "latin1").toString("utf8")).toBe("CN=José,O=Ünïcode");
  });

  const modes: Array<[ForwardClientCert, number]> = [["SANITIZE", 0], ["FORWARD_ONLY", 1], ["APPEND_FORWARD", 2], ["SANITIZE_SET", 3], ["ALWAYS_FORWARD_ONLY", 4]];
  const mine = clientCertDetails(TLS, ISTIO.details);
  const expectations: Record<ForwardClientCert, { mtls: string | undefined; plain: string | undefined }> = {
    SANITIZE: { mtls: undefined, plain: undefined },
    FORWARD_ONLY: { mtls: "By=upstream", plain: undefined },
    APPEND_FORWARD: { mtls: `By=upstream,${mine}`, plain: undefined },
    SANITIZE_SET: { mtls: mine, plain: undefined },
    ALWAYS_FORWARD_ONLY: { mtls: "By=upstream", plain: "By=upstream" },
  };
  for (const [mode, n] of modes) {
    it(`${mode}: with and without a client certificate`, () => {
      const cfg = { ...compileXfcc({ forwardClientCertDetails: n, setCurrentClientCertDetails: { subject: true, uri: true, dns: false, cert: false, chain: false } as never }) };
      expect(cfg.mode).toBe(mode);
      const withCert: Record<string, string | undefined> = { "x-forwarded-client-cert": "By=upstream" };
      applyXfcc(withCert, TLS, cfg);
      expect(withCert["x-forwarded-client-cert"]).toBe(expectations[mode].mtls);
      const plain: Record<string, string | undefined> = { "x-forwarded-client-cert": "By=upstream" };
      applyXfcc(plain, undefined, cfg);
      expect(plain["x-forwarded-client-cert"]).toBe(expectations[mode].plain);
      // TLS without a client certificate is not mTLS: same as plaintext.
      const oneWay: Record<string, string | undefined> = { "x-forwarded-client-cert": "By=upstream" };
      applyXfcc(oneWay, { ...TLS, peerCertSha256: undefined, peerUriSan: undefined }, cfg);
      expect(oneWay["x-forwarded-client-cert"]).toBe(expectations[mode].plain);
    });
  }
});
