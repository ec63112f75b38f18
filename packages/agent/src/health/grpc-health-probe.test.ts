import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../test-util/httpbin.js";
import { runGrpcProbe } from "./grpc-health-probe.js";

/**
 * A grpc.health.v1 server on @grpc/grpc-js with hand-written (de)serializers: "" and
 * "ok" are SERVING, "down" NOT_SERVING, anything else NOT_FOUND, as the spec says.
 */
describe("runGrpcProbe()", () => {
  let server: grpc.Server;
  let port = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    // Returns an object: grpc-js treats a falsy decoded request as "no message".
    const readService = (b: Buffer) => ({ service: b.length > 2 && b[0] === 0x0a ? b.subarray(2, 2 + b[1]).toString() : "" });
    server.addService(
      {
        Check: {
          path: "/grpc.health.v1.Health/Check",
          requestStream: false,
          responseStream: false,
          requestSerialize: (r: { service: string }) => Buffer.from(r.service),
          requestDeserialize: readService,
          responseSerialize: (status: number) => Buffer.from([0x08, status]),
          responseDeserialize: (b: Buffer) => b[1],
        },
      },
      {
        Check: (call: grpc.ServerUnaryCall<{ service: string }, number>, cb: grpc.sendUnaryData<number>) => {
          const name = call.request.service;
          if (name === "" || name === "ok") cb(null, 1);
          else if (name === "down") cb(null, 2);
          else cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${name}` });
        },
      },
    );
    port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  });

  afterAll(() => server.forceShutdown());

  it("passes for SERVING, the overall and a named service", async () => {
    expect(await runGrpcProbe("127.0.0.1", port, "", 2000)).toEqual({ status: 200, detail: "SERVING" });
    expect((await runGrpcProbe("127.0.0.1", port, "ok", 2000)).status).toBe(200);
  });

  it("fails for NOT_SERVING and unknown services with the reason", async () => {
    expect(await runGrpcProbe("127.0.0.1", port, "down", 2000)).toEqual({ status: 500, detail: `grpc 127.0.0.1:${port}: health status 2, not SERVING` });
    const r = await runGrpcProbe("127.0.0.1", port, "nope", 2000);
    expect(r.status).toBe(500);
    expect(r.detail).toMatch(/grpc-status 5 unknown service nope/);
  });

  it("fails when nothing listens", async () => {
    const r = await runGrpcProbe("127.0.0.1", await freePort(), "", 2000);
    expect(r.status).toBe(500);
    expect(r.detail).toMatch(/ECONNREFUSED/);
  });
});
