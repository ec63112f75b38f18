// SO_REUSEPORT listeners, on this machine's Node (20: through Weft's socket
// addon; 22.12+: Node's own option): servers bound to one address all accept,
// and an address held without SO_REUSEPORT fails as a plain listen() does.
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { listenReusePort, nodeHasReusePort, reusePortUnavailableReason } from "./reuse-port.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(ip: string, port: number, onConnection: () => void = () => undefined): Promise<Server> {
  const server = createServer((socket) => {
    onConnection();
    socket.end("hi");
  });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    listenReusePort(server, ip, port, 128, () => resolve(server));
  });
}

function roundTrip(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const c = connect(port, "127.0.0.1");
    c.setEncoding("utf8");
    c.on("data", (d: string) => (got += d));
    c.on("end", () => resolve(got));
    c.on("error", reject);
  });
}

describe("nodeHasReusePort", () => {
  it("is true from Node 22.12 and 23.1, false before", () => {
    expect(["20.19.0", "22.11.0", "23.0.0"].map((v) => nodeHasReusePort(v))).toEqual([false, false, false]);
    expect(["22.12.0", "23.1.0", "24.0.0", "25.2.1"].map((v) => nodeHasReusePort(v))).toEqual([true, true, true, true]);
  });
});

const unavailable = reusePortUnavailableReason();

describe.skipIf(unavailable !== undefined)(`listenReusePort (${unavailable ?? `Node ${process.versions.node}`})`, () => {
  it("lets three servers bind one address, and the kernel spreads connections over them", async () => {
    const counts = [0, 0, 0];
    const first = await listen("127.0.0.1", 0, () => counts[0]!++);
    const port = (first.address() as AddressInfo).port;
    await listen("127.0.0.1", port, () => counts[1]!++);
    await listen("127.0.0.1", port, () => counts[2]!++);
    const replies = await Promise.all(Array.from({ length: 60 }, () => roundTrip(port)));
    expect(replies.every((r) => r === "hi")).toBe(true);
    expect(counts.reduce((a, b) => a + b)).toBe(60);
    // Hashing 60 connections over 3 sockets leaves one empty with probability ~1e-10.
    for (const n of counts) expect(n).toBeGreaterThan(0);
  });

  it("keeps serving on the others when one closes", async () => {
    const a = await listen("127.0.0.1", 0);
    const port = (a.address() as AddressInfo).port;
    await listen("127.0.0.1", port);
    await new Promise((r) => a.close(r));
    servers.splice(servers.indexOf(a), 1);
    for (let i = 0; i < 10; i++) expect(await roundTrip(port)).toBe("hi");
  });

  it("fails with EADDRINUSE, on the 'error' event, when a socket without SO_REUSEPORT holds the address", async () => {
    const plain = createServer();
    servers.push(plain);
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    const port = (plain.address() as AddressInfo).port;
    await expect(listen("127.0.0.1", port)).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("binds the IPv4 wildcard, and the IPv6 one accepting IPv4 too (as Node's listen on '::')", async () => {
    const v4 = await listen("0.0.0.0", 0);
    expect(await roundTrip((v4.address() as AddressInfo).port)).toBe("hi");
    const v6 = await listen("::", 0);
    expect((v6.address() as AddressInfo).family).toBe("IPv6");
    expect(await roundTrip((v6.address() as AddressInfo).port)).toBe("hi");
  });

  it("rejects an address that is not an IP with a clear error", async () => {
    await expect(listen("localhost", 0)).rejects.toThrow(/IPv4 or IPv6|ENOTFOUND|EINVAL|invalid/i);
  });
});
