import { createServer as createHttpServer } from "node:http";
import { createServer, type AddressInfo, type Server } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { appAnswers } from "./readiness.js";

const servers: Server[] = [];
async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}
afterAll(() => {
  for (const s of servers) s.close();
});

describe("appAnswers()", () => {
  it("is yes for an HTTP app, no for the sidecar's 503 and for nothing listening", async () => {
    const ok = await listen(createHttpServer((_q, r) => r.writeHead(404).end()));
    const noApp = await listen(createHttpServer((_q, r) => r.writeHead(503).end("no healthy upstream")));
    const closed = await listen(createServer());
    servers.at(-1)!.close();
    expect(await appAnswers("127.0.0.1", ok)).toBe("yes");
    expect(await appAnswers("127.0.0.1", noApp)).toBe("no");
    expect(await appAnswers("127.0.0.1", closed)).toBe("no");
  });

  it("is not-http for a plain TCP app (Istio's tcp-echo answers the request line with its prefix)", async () => {
    const echo = await listen(createServer((c) => c.on("data", (d) => c.write(`one ${d.toString()}`))));
    expect(await appAnswers("127.0.0.1", echo)).toBe("not-http");
  });
});
