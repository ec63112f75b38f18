// A proxyless gRPC client in its own process (grpc-js-xds keeps global xDS
// state, so each scenario gets a fresh one). Run with `node --import tsx`.
// Env: GRPC_XDS_BOOTSTRAP_CONFIG (the bootstrap JSON), XDS_TARGET (xds:///…).
// Reads one JSON command per stdin line: {"calls": N, "concurrency": C} and
// answers one JSON line: {"counts": {server: n}, "errors": n, "lastError": "…"}.
import * as grpc from "@grpc/grpc-js";
import * as grpcXds from "@grpc/grpc-js-xds";
import { createInterface } from "node:readline";

grpcXds.register();

const target = process.env.XDS_TARGET;
if (!target) {
  process.stderr.write("XDS_TARGET is required (e.g. xds:///echo.default.svc.cluster.local:7070)\n");
  process.exit(2);
}
const client = new grpc.Client(target, grpc.credentials.createInsecure());
const identity = (b: Buffer) => b;

function call(): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest("/weft.test.Echo/Who", identity, identity, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, res) => {
      if (err) reject(err);
      else resolve(res!.toString("utf8"));
    });
  });
}

async function run(calls: number, concurrency: number) {
  const counts: Record<string, number> = {};
  let errors = 0;
  let lastError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      try {
        const who = await call();
        counts[who] = (counts[who] ?? 0) + 1;
      } catch (error) {
        errors++;
        lastError = (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  return { counts, errors, lastError };
}

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = JSON.parse(line) as { calls: number; concurrency?: number };
  void run(cmd.calls, cmd.concurrency ?? 4).then((r) => process.stdout.write(JSON.stringify(r) + "\n"));
});
rl.on("close", () => {
  client.close();
  process.exit(0);
});
