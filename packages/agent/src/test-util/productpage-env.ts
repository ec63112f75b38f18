import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TESTDATA = "/work/shared/testdata";

/**
 * The environment of bookinfo's productpage-v1 pod, with the istio-proxy env of
 * testdata/injected-httpbin-pod.yaml adapted to productpage (ports, app container, owner).
 */
export function productpageEnv(agentDir: string, podInfoDir = writeProductpagePodInfo()): Record<string, string> {
  return {
    JWT_POLICY: "third-party-jwt",
    PILOT_CERT_PROVIDER: "istiod",
    CA_ADDR: "istiod.istio-system.svc:15012",
    POD_NAME: "productpage-v1-5d9b4c9849-c6rbk",
    POD_NAMESPACE: "default",
    INSTANCE_IP: "10.244.1.10",
    SERVICE_ACCOUNT: "bookinfo-productpage",
    HOST_IP: "172.18.0.3",
    PROXY_CONFIG: "{}\n",
    CANONICAL_SERVICE: "productpage",
    CANONICAL_REVISION: "v1",
    ISTIO_META_POD_PORTS: '[\n    {"containerPort":9080,"protocol":"TCP"}\n]',
    ISTIO_META_APP_CONTAINERS: "productpage",
    ISTIO_META_CLUSTER_ID: "Kubernetes",
    ISTIO_META_NODE_NAME: "kind-worker",
    ISTIO_META_INTERCEPTION_MODE: "REDIRECT",
    ISTIO_META_WORKLOAD_NAME: "productpage-v1",
    ISTIO_META_OWNER: "kubernetes://apis/apps/v1/namespaces/default/deployments/productpage-v1",
    ISTIO_META_MESH_ID: "cluster.local",
    TRUST_DOMAIN: "cluster.local",
    WEFT_AGENT_DIR: agentDir,
    WEFT_POD_INFO_DIR: podInfoDir,
  };
}

/** Downward-API files as the kubelet writes them for the productpage pod. */
export function writeProductpagePodInfo(): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-podinfo-"));
  writeFileSync(
    join(dir, "labels"),
    [
      'app="productpage"',
      'istio.io/rev="default"',
      'pod-template-hash="5d9b4c9849"',
      'security.istio.io/tlsMode="istio"',
      'service.istio.io/canonical-name="productpage"',
      'service.istio.io/canonical-revision="v1"',
      'version="v1"',
    ].join("\n"),
  );
  writeFileSync(
    join(dir, "annotations"),
    [
      'kubectl.kubernetes.io/default-container="productpage"',
      'prometheus.io/path="/stats/prometheus"',
      'prometheus.io/port="15020"',
      'prometheus.io/scrape="true"',
      'sidecar.istio.io/status="{\\"initContainers\\":[\\"istio-init\\"],\\"containers\\":[\\"istio-proxy\\"],\\"revision\\":\\"default\\"}"',
    ].join("\n"),
  );
  return dir;
}
