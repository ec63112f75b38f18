// A listener update (same address, new filter chains) drains the old chains as
// Envoy does: a kept-alive HTTP/1.1 connection gets its next response from the
// old chain with `connection: close`, an idle one is closed after the HCM's
// drain_timeout, and new connections see the new config. Without this a
// client's pooled connection would keep an old config (an EnvoyFilter removed,
// a route changed) until its idle timeout.
import * as net from "node:net";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../test-util/recording-backend.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

function listener(port: number, body: string): Record<string, unknown> {
  const routes = [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: body } } }] }];
  return httpListener("l", routes, { drain_timeout: "0.3s", access_log: [] }, port);
}

function listeners(port: number, body: string, version: string) {
  const json = listener(port, body);
  return { typeUrl: TypeUrl.Listener, version, stateOfTheWorld: true, removed: [], resources: [{ name: "l", version, resource: anyPack(ListenerSchema, fromEnvoyJson(ListenerSchema, json as never) as never) }] };
}

/** One kept-alive client connection: `get()` sends a request and resolves with the raw response. */
function keepAlive(port: number) {
  const sock = net.connect(port, "127.0.0.1");
  let buf = "";
  let closed = false;
  const waiters: Array<() => void> = [];
  sock.on("data", (d) => {
    buf += d.toString("latin1");
    waiters.splice(0).forEach((w) => w());
  });
  sock.on("close", () => {
    closed = true;
    waiters.splice(0).forEach((w) => w());
  });
  const response = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = /^HTTP\/1\.1 [^]*?\r\n\r\n/.exec(buf);
        const len = m ? Number(/content-length: (\d+)/i.exec(m[0])?.[1] ?? 0) : 0;
        if (m && buf.length >= m[0].length + len) {
          const r = buf.slice(0, m[0].length + len);
          buf = buf.slice(r.length);
          return resolve(r);
        }
        if (closed) return reject(new Error("closed before a response"));
        waiters.push(check);
      };
      check();
    });
  return {
    get: (): Promise<string> => {
      sock.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      return response();
    },
    closed: (): Promise<void> => new Promise((r) => (closed ? r() : sock.once("close", () => r()))),
    isClosed: () => closed,
    destroy: () => sock.destroy(),
  };
}

describe("draining filter chains on a listener update", () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    port = await closedPort();
    h = await startRuntime({ clusters: [staticCluster("unused", [1])] });
    await h.runtime.apply(listeners(port, "old", "1"));
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers a kept-alive connection's next request from the old chain with connection: close, then new connections get the new chain", async () => {
    const busy = keepAlive(port);
    const idle = keepAlive(port);
    expect(await busy.get()).toMatch(/\r\n\r\nold$/);
    expect(await idle.get()).toMatch(/\r\n\r\nold$/);

    await h.runtime.apply(listeners(port, "new", "2"));
    const last = await busy.get();
    expect(last).toMatch(/\r\n\r\nold$/);
    expect(last.toLowerCase()).toContain("connection: close");
    await busy.closed();

    const fresh = keepAlive(port);
    expect(await fresh.get()).toMatch(/\r\n\r\nnew$/);
    expect(await fresh.get()).toMatch(/\r\n\r\nnew$/);
    fresh.destroy();

    // The one that stayed idle is closed once the old HCM's drain_timeout (0.3 s) passes.
    expect(idle.isClosed()).toBe(false);
    const t0 = Date.now();
    await idle.closed();
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
