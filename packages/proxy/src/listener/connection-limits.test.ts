// Connection caps (issue 5): the compile rules, then the real weft-proxy binary
// with the overload manager's global cap, a listener's runtime
// connection_limit, the connection_limit network filter (with delay) and a
// listener exempt from the global cap — raw sockets hold connections open,
// curl checks that the proxy keeps serving.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { fromEnvoyJson } from "@weft/xds-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-util/httpbin.js";
import { spawnProxy, type ProxyProcess } from "../test-util/spawn-proxy.js";
import { compileConnectionLimits, DEFAULT_GLOBAL_MAX_CONNECTIONS } from "./connection-limits.js";
import { compileConnectionLimitSpec } from "./connection-limit-filter.js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { TypedStructSchema } from "@weft/xds-api/gen/xds/type/v3/typed_struct_pb.js";

const DC_TYPE = "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig";
const CL_TYPE = "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit";
const TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";

const monitor = (max: unknown): unknown => ({
  name: "envoy.resource_monitors.global_downstream_max_connections",
  typed_config: { "@type": TYPED_STRUCT, type_url: DC_TYPE, value: { max_active_downstream_connections: max } },
});

function bootstrapOf(json: unknown) {
  return fromEnvoyJson(BootstrapSchema, json as never);
}

describe("compileConnectionLimits", () => {
  const none = { workers: 1, fdLimit: 1_048_576, report: () => {} };
  it("defaults to Weft's cap when the bootstrap sets none", () => {
    expect(compileConnectionLimits(create(BootstrapSchema), none)).toMatchObject({ globalMax: DEFAULT_GLOBAL_MAX_CONNECTIONS, globalSource: "default" });
  });
  it("reads the runtime key (flat or nested) and per-listener limits", () => {
    const b = bootstrapOf({
      layered_runtime: {
        layers: [
          { name: "a", static_layer: { "overload.global_downstream_max_connections": 50, "envoy.resource_limits.listener.in.connection_limit": 3 } },
          { name: "b", static_layer: { overload: { global_downstream_max_connections: 70 } } },
        ],
      },
    });
    const l = compileConnectionLimits(b, none);
    expect(l).toMatchObject({ globalMax: 70, globalSource: "runtime" });
    expect(l.perListener.get("in")).toBe(3);
  });
  it("prefers the resource monitor, splits it across workers and stays under the fd limit", () => {
    const b = bootstrapOf({
      overload_manager: { resource_monitors: [monitor(1000)] },
      layered_runtime: { layers: [{ name: "a", static_layer: { "overload.global_downstream_max_connections": 2147483647 } }] },
    });
    expect(compileConnectionLimits(b, none)).toMatchObject({ globalMax: 1000, globalSource: "overload_manager" });
    expect(compileConnectionLimits(b, { ...none, workers: 3 }).globalMax).toBe(334);
    const perListener = bootstrapOf({ layered_runtime: { layers: [{ name: "a", static_layer: { "envoy.resource_limits.listener.in.connection_limit": 5 } }] } });
    expect(compileConnectionLimits(perListener, { ...none, workers: 2 }).perListener.get("in")).toBe(3);
    // Istio's 2147483647 on a 1024-fd process: (1024 - 64) / 2.
    const istio = bootstrapOf({ layered_runtime: { layers: [{ name: "g", static_layer: { "overload.global_downstream_max_connections": 2147483647 } }] } });
    expect(compileConnectionLimits(istio, { ...none, fdLimit: 1024 }).globalMax).toBe(480);
  });
  it("refuses bad values, naming the field", () => {
    expect(() => compileConnectionLimits(bootstrapOf({ overload_manager: { resource_monitors: [monitor(0)] } }), none)).toThrow(/resource_monitors\[0\]\.typed_config\.max_active_downstream_connections.*greater than 0/);
    expect(() => compileConnectionLimits(bootstrapOf({ layered_runtime: { layers: [{ name: "a", static_layer: { "overload.global_downstream_max_connections": "lots" } }] } }), none)).toThrow(
      /overload\.global_downstream_max_connections.*non-negative integer/,
    );
  });
  it("reports monitors and actions it does not implement", () => {
    const seen: string[] = [];
    compileConnectionLimits(bootstrapOf({ overload_manager: { resource_monitors: [{ name: "envoy.resource_monitors.fixed_heap" }], actions: [{ name: "envoy.overload_actions.shrink_heap", triggers: [{ name: "envoy.resource_monitors.fixed_heap", threshold: { value: 0.9 } }] }] } }), {
      ...none,
      report: (f) => seen.push(f),
    });
    expect(seen).toEqual(["overload_manager.resource_monitors[0][envoy.resource_monitors.fixed_heap]", "overload_manager.actions"]);
  });
});

describe("connection_limit filter config", () => {
  /** ConnectionLimit as xDS sends it: stat_prefix = 1, max_connections = 2 (UInt64Value), delay = 3, runtime_enabled = 4. */
  const wire = (f: { prefix?: string; max?: number; delayS?: number; delayNanos?: number; enabled?: boolean }) => {
    const w = new BinaryWriter();
    if (f.prefix !== undefined) w.tag(1, 2).string(f.prefix);
    if (f.max !== undefined) w.tag(2, 2).bytes(new BinaryWriter().tag(1, 0).uint64(f.max).finish());
    if (f.delayS !== undefined) w.tag(3, 2).bytes(new BinaryWriter().tag(1, 0).int64(f.delayS).tag(2, 0).int32(f.delayNanos ?? 0).finish());
    if (f.enabled !== undefined) w.tag(4, 2).bytes(new BinaryWriter().tag(1, 2).bytes(new BinaryWriter().tag(1, 0).bool(f.enabled).finish()).tag(2, 2).string("k").finish());
    return create(AnySchema, { typeUrl: CL_TYPE, value: w.finish() });
  };
  it("decodes the xDS wire form and the TypedStruct form alike", () => {
    expect(compileConnectionLimitSpec(wire({ prefix: "p", max: 7, delayS: 1, delayNanos: 500_000_000 }), "l", "f")).toEqual({ statPrefix: "p", maxConnections: 7, delayMs: 1500, enabled: true });
    expect(compileConnectionLimitSpec(wire({ prefix: "p", max: 1, enabled: false }), "l", "f").enabled).toBe(false);
    // Two worker processes: each takes its share.
    expect(compileConnectionLimitSpec(wire({ prefix: "p", max: 7 }), "l", "f", 2).maxConnections).toBe(4);
    const ts = anyPack(TypedStructSchema, create(TypedStructSchema, { typeUrl: CL_TYPE, value: { stat_prefix: "q", max_connections: "3", delay: "0.25s" } }));
    expect(compileConnectionLimitSpec(ts, "l", "f")).toEqual({ statPrefix: "q", maxConnections: 3, delayMs: 250, enabled: true });
  });
  it("refuses what Envoy refuses, naming the field", () => {
    expect(() => compileConnectionLimitSpec(wire({ max: 1 }), "l", "filters[0].typed_config")).toThrow(/filters\[0\]\.typed_config\.stat_prefix.*must not be empty/);
    expect(() => compileConnectionLimitSpec(wire({ prefix: "p" }), "l", "f")).toThrow(/f\.max_connections.*at least 1/);
    expect(() => compileConnectionLimitSpec(wire({ prefix: "p", max: 0 }), "l", "f")).toThrow(/f\.max_connections.*at least 1/);
    const ts = anyPack(TypedStructSchema, create(TypedStructSchema, { typeUrl: CL_TYPE, value: { stat_prefix: "q", max_connections: 2, delay: "soon" } }));
    expect(() => compileConnectionLimitSpec(ts, "l", "f")).toThrow(/f\.delay.*duration/);
  });
});

// ---- the real binary -------------------------------------------------------

interface Held {
  socket: net.Socket;
  /** One GET on this connection: the status, or 0 when the proxy closed it without answering. */
  get(): Promise<number>;
  closed: Promise<number>;
}

/** A keep-alive connection that answers `get()`; `closed` resolves with the ms it stayed open. */
function hold(port: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let pending: ((s: number) => void) | undefined;
    let buf = "";
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\nok/.exec(buf);
      if (m && pending) {
        buf = "";
        const p = pending;
        pending = undefined;
        p(Number(m[1]));
      }
    });
    const closed = new Promise<number>((r) =>
      socket.once("close", () => {
        pending?.(0);
        r(Date.now() - start);
      }),
    );
    socket.on("error", () => {});
    socket.once("connect", () =>
      resolve({
        socket,
        closed,
        get: () =>
          new Promise<number>((r) => {
            if (socket.destroyed) return r(0);
            pending = r;
            socket.write("GET / HTTP/1.1\r\nHost: caps.test\r\n\r\n");
          }),
      }),
    );
    socket.once("error", reject);
  });
}

function curl(port: number): Promise<number> {
  return new Promise((r) => execFile("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", `http://127.0.0.1:${port}/`], (_e, out) => r(Number(String(out).trim()) || 0)));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function listener(name: string, port: number, extra: Record<string, unknown> = {}, filters: unknown[] = []): unknown {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    ...extra,
    filter_chains: [
      {
        filters: [
          ...filters,
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              stat_prefix: name,
              route_config: { name, virtual_hosts: [{ name, domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: "ok" } } }] }] },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
            },
          },
        ],
      },
    ],
  };
}

describe("connection caps through weft-proxy", () => {
  let dir: string;
  let proxy: ProxyProcess;
  let admin: number;
  const port = { capped: 0, limited: 0, global: 0, free: 0 };

  const stat = async (name: string): Promise<number> => {
    const j = (await (await fetch(`http://127.0.0.1:${admin}/stats?format=json`)).json()) as { stats: Array<{ name: string; value?: number }> };
    return j.stats.find((s) => s.name === name)?.value ?? 0;
  };
  /** Waits until the proxy has seen `n` connections close on a listener (its active gauge). */
  const activeIs = async (listenerPort: number, n: number): Promise<void> => {
    for (let i = 0; i < 100 && (await stat(`listener.127.0.0.1_${listenerPort}.downstream_cx_active`)) !== n; i++) await sleep(50);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-caps-"));
    admin = await freePort();
    for (const k of Object.keys(port) as Array<keyof typeof port>) port[k] = await freePort();
    const bootstrap = {
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
      node: { id: "caps", cluster: "caps" },
      // The monitor (6) wins over the older runtime key; the listener key caps "capped" at 2.
      overload_manager: { resource_monitors: [monitor(6)] },
      layered_runtime: { layers: [{ name: "static", static_layer: { "overload.global_downstream_max_connections": 1000, "envoy.resource_limits.listener.capped.connection_limit": 2 } }] },
      static_resources: {
        listeners: [
          listener("capped", port.capped),
          listener("limited", port.limited, {}, [{ name: "envoy.filters.network.connection_limit", typed_config: { "@type": TYPED_STRUCT, type_url: CL_TYPE, value: { stat_prefix: "lim", max_connections: 2, delay: "0.4s" } } }]),
          listener("global", port.global),
          listener("free", port.free, { ignore_global_conn_limit: true }),
        ],
      },
    };
    proxy = await spawnProxy(dir, "caps", bootstrap, admin);
  }, 150_000);

  afterAll(async () => {
    await proxy?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a listener's runtime connection_limit closes the connection over it at accept; the others keep being served", async () => {
    const a = [await hold(port.capped), await hold(port.capped)];
    expect(await a[0]!.get()).toBe(200);
    expect(await a[1]!.get()).toBe(200);
    const over = await hold(port.capped);
    expect(await over.get()).toBe(0);
    expect(await over.closed).toBeLessThan(1000);
    expect(await stat(`listener.127.0.0.1_${port.capped}.downstream_cx_overflow`)).toBe(1);
    // The connections the proxy has are untouched.
    expect(await a[0]!.get()).toBe(200);
    a[0]!.socket.destroy();
    await activeIs(port.capped, 1);
    expect(await curl(port.capped)).toBe(200);
    expect(await a[1]!.get()).toBe(200);
    a[1]!.socket.destroy();
    await activeIs(port.capped, 0);
  });

  it("the connection_limit filter closes the connection over max_connections after its delay and counts it", async () => {
    const l = [await hold(port.limited), await hold(port.limited)];
    expect(await l[0]!.get()).toBe(200);
    expect(await l[1]!.get()).toBe(200);
    const over = await hold(port.limited);
    const status = over.get();
    const openMs = await over.closed;
    expect(await status).toBe(0);
    // Slow rejection: held (unread) for `delay`, then closed.
    expect(openMs).toBeGreaterThanOrEqual(350);
    expect(await stat("connection_limit.lim.limited_connections")).toBe(1);
    expect(await stat("connection_limit.lim.active_connections")).toBe(2);
    expect(await l[0]!.get()).toBe(200);
    for (const h of l) h.socket.destroy();
    for (let i = 0; i < 100 && (await stat("connection_limit.lim.active_connections")) !== 0; i++) await sleep(50);
    expect(await stat("connection_limit.lim.active_connections")).toBe(0);
    expect(await curl(port.limited)).toBe(200);
  });

  it("the overload manager's global cap refuses past max_active_downstream_connections across listeners, except an exempt listener", async () => {
    await activeIs(port.limited, 0);
    // 6 in all: 2 on "capped", 4 on "global".
    const held = [await hold(port.capped), await hold(port.capped)];
    for (let i = 0; i < 4; i++) held.push(await hold(port.global));
    for (const h of held) expect(await h.get()).toBe(200);
    const over = await hold(port.global);
    expect(await over.get()).toBe(0);
    expect(await stat(`listener.127.0.0.1_${port.global}.downstream_global_cx_overflow`)).toBe(1);
    // ignore_global_conn_limit: served although the cap is reached.
    expect(await curl(port.free)).toBe(200);
    for (const h of held) expect(await h.get()).toBe(200);
    held[0]!.socket.destroy();
    await activeIs(port.capped, 1);
    expect(await curl(port.global)).toBe(200);
    for (const h of held) h.socket.destroy();
  });
});
