import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentEnv, proxyConfigToJson } from "./agent-env.js";
import { parseDownwardApi } from "./pod-info.js";
import { metadataFromEnv } from "./node-metadata.js";
import { serviceCluster, workloadNameFromPod } from "../bootstrap/node-identity.js";

describe("parseDownwardApi()", () => {
  it("reads the kubelet's key=\"value\" lines with Go escapes", () => {
    const text = 'app="productpage"\nsidecar.istio.io/status="{\\"containers\\":[\\"istio-proxy\\"]}"\nnote="caf\\xc3\\xa9\\ttab"\n';
    expect(parseDownwardApi(text)).toEqual({ app: "productpage", "sidecar.istio.io/status": '{"containers":["istio-proxy"]}', note: "café\ttab" });
  });
  it("names the file and line of a malformed entry", () => {
    expect(() => parseDownwardApi('app="x"\nbroken\n', "/etc/istio/pod/labels")).toThrow(/\/etc\/istio\/pod\/labels:2: expected key="value"/);
  });
});

describe("metadataFromEnv()", () => {
  it("copies ISTIO_META_* as strings and parses ISTIO_METAJSON_*", () => {
    expect(metadataFromEnv({ ISTIO_META_FOO_BAR: "x", ISTIO_META_POD_PORTS: '[{"containerPort":80}]', ISTIO_METAJSON_LABELS: '{"app":"a"}', OTHER: "y" })).toEqual({
      FOO_BAR: "x",
      POD_PORTS: '[{"containerPort":80}]',
      LABELS: { app: "a" },
    });
  });
  it("rejects invalid JSON naming the variable", () => {
    expect(() => metadataFromEnv({ ISTIO_METAJSON_LABELS: "{" })).toThrow(/ISTIO_METAJSON_LABELS: not valid JSON/);
  });
});

describe("loadAgentEnv()", () => {
  it("lets proxyMetadata act as environment and the pod annotation override PROXY_CONFIG", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-env-"));
    writeFileSync(join(dir, "annotations"), 'proxy.istio.io/config="terminationDrainDuration: 12s"\n');
    const env = loadAgentEnv({ POD_NAME: "a-1", PROXY_CONFIG: '{"proxyMetadata":{"ISTIO_META_DNS_CAPTURE":"true"}}', WEFT_POD_INFO_DIR: dir });
    expect(env.envMetadata.DNS_CAPTURE).toBe("true");
    expect(env.proxyConfig.terminationDrainDurationMs).toBe(12_000);
  });

  it("defaults the paths under configPath and honours WEFT_* overrides", () => {
    const env = loadAgentEnv({ WEFT_AGENT_DIR: "/tmp/pod-a", WEFT_STATUS_PORT: "25020", OUTPUT_CERTS: "/certs", WEFT_POD_INFO_DIR: "/nonexistent" });
    expect([env.xdsSocketPath, env.sdsSocketPath, env.bootstrapPath]).toEqual(["/tmp/pod-a/XDS", "/tmp/pod-a/SDS", "/tmp/pod-a/envoy-rev.json"]);
    expect(env.ports.status).toBe(25020);
    expect(env.proxyConfig.statusPort).toBe(25020);
    expect(env.certs.rootCert).toBe("/certs/root-cert.pem");
    expect(() => loadAgentEnv({ WEFT_ADMIN_PORT: "70000", WEFT_POD_INFO_DIR: "/nonexistent" })).toThrow(/WEFT_ADMIN_PORT: "70000" is not a port number/);
  });

  it("derives the cluster as Istio: canonical name, app label, then the pod name", () => {
    const base = { POD_NAMESPACE: "ns", WEFT_POD_INFO_DIR: "/nonexistent" };
    expect(serviceCluster(loadAgentEnv({ ...base, POD_NAME: "reviews-v2-7bf8c9648f-abcde", CANONICAL_SERVICE: "reviews" }))).toBe("reviews.ns");
    expect(serviceCluster(loadAgentEnv({ ...base, POD_NAME: "reviews-v2-7bf8c9648f-abcde" }))).toBe("reviews-v2.ns");
    expect(workloadNameFromPod("web-0")).toBe("web-0");
    expect(workloadNameFromPod("job-x7k2p")).toBe("job");
  });

  it("sizes the proxy's workers as pilot-agent: --concurrency, then ProxyConfig, then ISTIO_CPU_LIMIT, then 2", () => {
    // No cgroup to read: the limit is judged against the host's (pinned) CPU count.
    const base = { WEFT_POD_INFO_DIR: "/nonexistent", WEFT_CGROUP_DIR: "/nonexistent" };
    const host = { hostCpus: 8 };
    const limited = loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "1" }, host);
    expect(limited.concurrency).toEqual({ workers: 1, source: "cpu_limit" });
    // Node metadata carries the count the proxy runs with, as pilot-agent's does.
    expect(proxyConfigToJson(limited.proxyConfig).concurrency).toBe(1);
    expect(loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "3", PROXY_CONFIG: "concurrency: 2" }, host).concurrency).toEqual({ workers: 2, source: "proxy_config" });
    expect(loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "3", PROXY_CONFIG: "concurrency: null" }, host).concurrency.source).toBe("cpu_limit");
    expect(loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "3" }, { ...host, concurrencyFlag: 1 }).concurrency).toEqual({ workers: 1, source: "flag" });
    // pilot-agent ignores a --concurrency of 0 (the flag's default).
    expect(loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "3" }, { ...host, concurrencyFlag: 0 }).concurrency.workers).toBe(3);
    expect(loadAgentEnv({ ...base, PROXY_CONFIG: "concurrency: 0" }, { hostCpus: 12 }).concurrency.workers).toBe(12);
    // No CPU limit: Kubernetes reports the node's CPUs, which is no reason for that many workers.
    expect(loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "8" }, host).concurrency).toEqual({ workers: 2, source: "default" });
    const unset = loadAgentEnv(base, host);
    expect([unset.concurrency.workers, unset.proxyConfig.concurrency]).toEqual([2, 2]);
    expect(() => loadAgentEnv({ ...base, ISTIO_CPU_LIMIT: "lots" })).toThrow(/ISTIO_CPU_LIMIT: "lots" is not a CPU quantity/);
  });
});
