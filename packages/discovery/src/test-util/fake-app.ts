// A discovery app wired to the fakes, listening on loopback ports picked by the OS.
import pino from "pino";
import { createDiscoveryApp, type DiscoveryAddresses, type DiscoveryApp } from "../app/discovery-app.js";
import { createFakeGenerators, createFakePushContextBuilder, createFakeSource, fakeParseProxy, serviceObject, type FakeService, type FakeSource } from "./fake-mesh.js";

export interface FakeApp {
  app: DiscoveryApp;
  addrs: DiscoveryAddresses;
  source: FakeSource;
  calls: Map<string, number>;
  services: FakeService[];
  /** Replaces the services and announces the change. */
  setServices(services: FakeService[], change: Parameters<FakeSource["set"]>[1]): void;
  close(): Promise<void>;
}

export async function startFakeApp(services: FakeService[], opts: { maxConnectionAgeMs?: number } = {}): Promise<FakeApp> {
  const source = createFakeSource(services.map(serviceObject));
  const { generators, calls } = createFakeGenerators();
  const app = createDiscoveryApp({
    source,
    pushContextBuilder: createFakePushContextBuilder(),
    generators,
    parseProxy: fakeParseProxy,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    grpcAddr: "127.0.0.1:0",
    httpAddr: "127.0.0.1:0",
    monitoringAddr: "127.0.0.1:0",
    debounce: { quietMs: 20, maxMs: 200 },
    maxConnectionAgeMs: opts.maxConnectionAgeMs,
  });
  const addrs = await app.start();
  const fake: FakeApp = {
    app,
    addrs,
    source,
    calls,
    services,
    setServices(next, change) {
      fake.services = next;
      source.set(next.map(serviceObject), change);
    },
    close: () => app.close(),
  };
  return fake;
}
