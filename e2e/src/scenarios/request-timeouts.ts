// Istio's "Request Timeouts" task, as its YAML writes it: reviews routed to v2,
// ratings delayed 2 s by a fault, then a 0.5 s timeout on the reviews route.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REVIEWS_V2 = (timeout?: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v2
${timeout ? `    timeout: ${timeout}\n` : ""}`;

const RATINGS_DELAY_2S = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
  namespace: default
spec:
  hosts:
  - ratings
  http:
  - fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 2s
    route:
    - destination:
        host: ratings
        subset: v1
`;

async function yamlFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "weft-e2e-timeouts-"));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** The task's first two steps: reviews → v2, and every ratings call delayed 2 s. */
export async function reviewsV2WithSlowRatings(): Promise<string[]> {
  return [await yamlFile("reviews-v2.yaml", REVIEWS_V2()), await yamlFile("ratings-delay.yaml", RATINGS_DELAY_2S)];
}

/** The task's last step: a half-second timeout on calls to reviews. */
export async function reviewsTimeout(): Promise<string> {
  return yamlFile("reviews-v2-timeout.yaml", REVIEWS_V2("0.5s"));
}
