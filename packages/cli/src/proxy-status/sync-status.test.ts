import { describe, expect, it } from "vitest";
import { proxyName, proxyStatusRows, syncState } from "./sync-status.js";

describe("proxy-status", () => {
  it.each([
    ["v1", "v1", "SYNCED"],
    ["v2", "v1", "STALE"],
    ["v1", "", "STALE (Never Acknowledged)"],
    ["", "", "NOT SENT"],
    [undefined, undefined, "NOT SENT"],
  ])("sent %s, acked %s → %s", (sent, acked, expected) => {
    expect(syncState(sent, acked)).toBe(expected);
  });

  it("names proxies pod.namespace and fills every column", () => {
    expect(proxyName("sidecar~10.1.0.5~productpage-v1-0.default~default.svc.cluster.local")).toBe("productpage-v1-0.default");
    const rows = proxyStatusRows(
      [{ proxy: "router~10.1.0.1~gw.istio-system~istio-system.svc.cluster.local", cluster_id: "Kubernetes", cluster_sent: "a", cluster_acked: "a", listener_sent: "b", listener_acked: "", route_sent: "c", route_acked: "c", istio_version: "0.1.0" }],
      "weft-discovery",
    );
    expect(rows).toEqual([["gw.istio-system", "Kubernetes", "SYNCED", "STALE (Never Acknowledged)", "NOT SENT", "SYNCED", "weft-discovery", "0.1.0"]]);
  });
});
