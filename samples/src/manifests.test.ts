import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { LOCAL_COMMAND_ANNOTATION, parseLocalCommand } from "./local-command.js";

const SAMPLES_DIR = fileURLToPath(new URL("..", import.meta.url));

interface Doc {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    ports?: { name?: string; port: number; targetPort?: number }[];
    selector?: Record<string, string> | { matchLabels: Record<string, string> };
    template?: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: { serviceAccountName?: string; containers: { name: string; image: string; ports?: { containerPort: number }[] }[] };
    };
  };
}

function load(rel: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(`${SAMPLES_DIR}/${rel}`, "utf8"));
  for (const d of docs) expect(d.errors, rel).toEqual([]);
  return docs.map((d) => d.toJS() as Doc).filter(Boolean);
}

const VARS = { WEFT_SAMPLES: "/opt/weft/samples", NODE: "/usr/bin/node", PORT: "9080", BIND_ADDRESS: "0.0.0.0", POD_IP: "10.0.0.5", POD_NAME: "p", POD_NAMESPACE: "default", SERVICE_ACCOUNT: "sa" };

const MANIFESTS = ["httpbin/httpbin.yaml", "sleep/sleep.yaml", "bookinfo/platform/kube/bookinfo.yaml", "tcp-echo/tcp-echo-services.yaml"];

describe("sample manifests", () => {
  it.each(MANIFESTS)("every Deployment in %s declares a local command whose program exists", (rel) => {
    const deployments = load(rel).filter((d) => d.kind === "Deployment");
    expect(deployments.length).toBeGreaterThan(0);
    for (const d of deployments) {
      const value = d.spec!.template!.metadata.annotations?.[LOCAL_COMMAND_ANNOTATION];
      expect(value, d.metadata.name).toBeDefined();
      const argv = parseLocalCommand(value!, { ...VARS, WEFT_SAMPLES: SAMPLES_DIR.replace(/\/$/, "") });
      expect(argv[0]).toBe("node");
      const program = argv[1]!.replace(/\/dist\/(.*)\.js$/, "/src/$1.ts");
      expect(existsSync(program), `${d.metadata.name}: ${program}`).toBe(true);
    }
  });

  it("httpbin: Service 8000 → 80, ServiceAccount httpbin, version v1", () => {
    const [sa, svc, dep] = load("httpbin/httpbin.yaml");
    expect(sa).toMatchObject({ kind: "ServiceAccount", metadata: { name: "httpbin" } });
    expect(svc!.spec!.ports).toEqual([{ name: "http", port: 8000, targetPort: 80 }]);
    expect(dep!.spec!.template!.metadata.labels).toEqual({ app: "httpbin", version: "v1" });
    expect(dep!.spec!.template!.spec.serviceAccountName).toBe("httpbin");
    expect(dep!.spec!.template!.spec.containers[0]!.ports).toEqual([{ containerPort: 80 }]);
  });

  it("bookinfo: four services on 9080, their accounts, reviews v1-v3, public images", () => {
    const docs = load("bookinfo/platform/kube/bookinfo.yaml");
    const of = (kind: string): string[] => docs.filter((d) => d.kind === kind).map((d) => d.metadata.name);
    expect(of("Service")).toEqual(["details", "ratings", "reviews", "productpage"]);
    expect(of("ServiceAccount")).toEqual(["bookinfo-details", "bookinfo-ratings", "bookinfo-reviews", "bookinfo-productpage"]);
    expect(of("Deployment")).toEqual(["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"]);
    for (const d of docs.filter((x) => x.kind === "Deployment")) {
      const [app, version] = d.metadata.name.split("-") as [string, string];
      expect(d.spec!.template!.metadata.labels).toEqual({ app, version });
      expect(d.spec!.template!.spec.serviceAccountName).toBe(`bookinfo-${app}`);
      expect(d.spec!.template!.spec.containers[0]!.image).toBe(`docker.io/istio/examples-bookinfo-${app}-${version}:1.20.1`);
    }
    for (const s of docs.filter((x) => x.kind === "Service")) expect(s.spec!.ports).toEqual([{ port: 9080, name: "http" }]);
  });

  it("networking: the fault rules match jason and use Istio's values", () => {
    const delay = load("bookinfo/networking/virtual-service-ratings-test-delay.yaml")[0] as unknown as { spec: { http: Record<string, unknown>[] } };
    expect(delay.spec.http[0]).toMatchObject({
      match: [{ headers: { "end-user": { exact: "jason" } } }],
      fault: { delay: { percentage: { value: 100 }, fixedDelay: "7s" } },
    });
    const abort = load("bookinfo/networking/virtual-service-ratings-test-abort.yaml")[0] as unknown as { spec: { http: Record<string, unknown>[] } };
    expect(abort.spec.http[0]).toMatchObject({ fault: { abort: { percentage: { value: 100 }, httpStatus: 500 } } });
    const testV2 = load("bookinfo/networking/virtual-service-reviews-test-v2.yaml")[0] as unknown as { spec: { http: { route: { destination: { subset: string } }[] }[] } };
    expect(testV2.spec.http.map((h) => h.route[0]!.destination.subset)).toEqual(["v2", "v1"]);
    const split = load("bookinfo/networking/virtual-service-reviews-50-v3.yaml")[0] as unknown as { spec: { http: { route: { weight: number }[] }[] } };
    expect(split.spec.http[0]!.route.map((r) => r.weight)).toEqual([50, 50]);
  });
  it("networking: every route targets a Bookinfo service and a subset destination-rule-all.yaml defines", () => {
    const subsets = new Map<string, Set<string>>();
    for (const dr of load("bookinfo/networking/destination-rule-all.yaml") as unknown as { spec: { host: string; subsets: { name: string }[] } }[]) {
      subsets.set(dr.spec.host, new Set(dr.spec.subsets.map((s) => s.name)));
    }
    const files = readdirSync(`${SAMPLES_DIR}/bookinfo/networking`).filter((f) => f.startsWith("virtual-service-"));
    expect(files.length).toBe(10);
    for (const file of files) {
      for (const vs of load(`bookinfo/networking/${file}`) as unknown as { kind: string; spec: { http: { route: { destination: { host: string; subset?: string }; weight?: number }[] }[] } }[]) {
        expect(vs.kind, file).toBe("VirtualService");
        for (const http of vs.spec.http) {
          const weights = http.route.map((r) => r.weight).filter((w) => w !== undefined);
          if (weights.length > 0) expect(weights.reduce((a, b) => a + b, 0), file).toBe(100);
          for (const { destination } of http.route) {
            expect(subsets.has(destination.host), `${file}: ${destination.host}`).toBe(true);
            if (destination.subset) expect(subsets.get(destination.host)!.has(destination.subset), `${file}: ${destination.subset}`).toBe(true);
          }
        }
      }
    }
  });
});
