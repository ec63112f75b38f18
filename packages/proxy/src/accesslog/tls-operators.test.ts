// The TLS command operators render what the downstream handshake recorded, "-" on plaintext.
import { describe, expect, it } from "vitest";
import { sampleStreamInfo } from "../test-util/stream-info.js";
import { compileJsonFormat, compileTextFormat } from "./format-compiler.js";

const plain = sampleStreamInfo();
const mtls = {
  ...plain,
  downstreamTls: {
    peerUriSan: "spiffe://cluster.local/ns/istio-demo/sa/sleep",
    peerDnsSans: [],
    peerSubject: "",
    peerCertSha256: "3cb80bdef2f0cd5c2ecb03244a378fb1faecfc192667bd0cb67886d9f7341b80",
    localUriSan: "spiffe://cluster.local/ns/istio-demo/sa/httpbin",
    version: "TLSv1.3",
    cipher: "TLS_AES_128_GCM_SHA256",
    peerNotAfter: new Date("2023-05-03T01:45:04.000Z"),
  },
};

describe("TLS command operators", () => {
  it.each([
    ["%DOWNSTREAM_PEER_URI_SAN%", "spiffe://cluster.local/ns/istio-demo/sa/sleep"],
    ["%DOWNSTREAM_LOCAL_URI_SAN%", "spiffe://cluster.local/ns/istio-demo/sa/httpbin"],
    ["%DOWNSTREAM_TLS_VERSION%", "TLSv1.3"],
    ["%DOWNSTREAM_TLS_CIPHER%", "TLS_AES_128_GCM_SHA256"],
    ["%DOWNSTREAM_PEER_FINGERPRINT_256%", "3cb80bdef2f0cd5c2ecb03244a378fb1faecfc192667bd0cb67886d9f7341b80"],
    ["%DOWNSTREAM_PEER_CERT_V_END%", "2023-05-03T01:45:04.000Z"],
    ["%DOWNSTREAM_PEER_SUBJECT%", "-"],
  ])("%s", (fmt, want) => {
    expect(compileTextFormat(fmt)(mtls)).toBe(want);
    expect(compileTextFormat(fmt)(plain)).toBe("-");
  });

  it("is null in JSON on plaintext connections", () => {
    const f = compileJsonFormat({ peer: "%DOWNSTREAM_PEER_URI_SAN%", version: "%DOWNSTREAM_TLS_VERSION%" });
    expect(JSON.parse(f(plain))).toEqual({ peer: null, version: null });
    expect(JSON.parse(f(mtls))).toEqual({ peer: "spiffe://cluster.local/ns/istio-demo/sa/sleep", version: "TLSv1.3" });
  });
});
