// Istio's "Request Timeouts" task, as its YAML writes it: reviews routed to v2,
// ratings delayed 2 s by a fault, then a 0.5 s timeout on the reviews route.
import { manifestFile } from "./manifest-file.js";

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

/** The task's first two steps: reviews → v2, and every ratings call delayed 2 s. */
export async function reviewsV2WithSlowRatings(): Promise<string[]> {
  return [await manifestFile("reviews-v2", REVIEWS_V2()), await manifestFile("ratings-delay", RATINGS_DELAY_2S)];
}

/** The task's last step: a half-second timeout on calls to reviews. */
export async function reviewsTimeout(): Promise<string> {
  return manifestFile("reviews-v2-timeout", REVIEWS_V2("0.5s"));
}
