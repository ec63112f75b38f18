import { describe, expect, it } from "vitest";
import { serviceBaseUrl } from "./service-url.js";

describe("serviceBaseUrl()", () => {
  it("defaults to the Kubernetes service name and port", () => {
    expect(serviceBaseUrl({}, "details")).toBe("http://details:9080");
  });

  it("honours the original images' variables", () => {
    expect(serviceBaseUrl({ SERVICES_DOMAIN: "bookinfo.svc.cluster.local", RATINGS_HOSTNAME: "ratings-v1", RATINGS_SERVICE_PORT: "9081" }, "ratings")).toBe(
      "http://ratings-v1.bookinfo.svc.cluster.local:9081",
    );
  });

  it("lets <NAME>_URL override everything, without a trailing slash", () => {
    expect(serviceBaseUrl({ REVIEWS_URL: "http://127.0.0.1:19083/", REVIEWS_HOSTNAME: "x" }, "reviews")).toBe("http://127.0.0.1:19083");
  });

  it("names a bad override", () => {
    expect(() => serviceBaseUrl({ DETAILS_URL: "details:9080" }, "details")).toThrow(/DETAILS_URL must use http:/);
    expect(() => serviceBaseUrl({ DETAILS_URL: "::" }, "details")).toThrow(/DETAILS_URL must be an http URL/);
    expect(() => serviceBaseUrl({ DETAILS_SERVICE_PORT: "tcp://10.0.0.1:9080" }, "details")).toThrow(/DETAILS_SERVICE_PORT must be a port number/);
  });
});
