import { createServer, connect, type Server, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { AgentError } from "../errors.js";

export interface ValidateCaptureOptions {
  /** The outbound capture port (-p), where redirected connections must land. */
  proxyPort: number;
  /** A destination outside the pod that capture must redirect (not a loopback address). */
  probeIp: string;
  probePort: number;
  timeoutMs: number;
}

/**
 * Like istio-validation: listen on the capture port, connect to a destination that only
 * capture can make reachable, and check that our own token arrives on the listener.
 * Must run with a uid other than the proxy's, or the owner rules let it out directly.
 */
export async function validateCapture(o: ValidateCaptureOptions): Promise<void> {
  const token = randomBytes(12).toString("hex");
  const server: Server = createServer();
  const landed = new Promise<void>((resolve) => {
    server.on("connection", (s: Socket) => {
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes(token)) {
          s.end("ok");
          resolve();
        }
      });
      s.on("error", () => undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new AgentError("validation_failed", `cannot listen on 0.0.0.0:${o.proxyPort} for validation: ${e.message}`)));
    server.listen(o.proxyPort, "0.0.0.0", () => resolve());
  });
  const target = `${o.probeIp}:${o.probePort}`;
  let clientError: Error | undefined;
  const client = connect({ host: o.probeIp, port: o.probePort });
  client.on("error", (e) => (clientError = e));
  client.on("connect", () => client.write(token));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      landed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AgentError(
                "validation_failed",
                `traffic capture is not working: a connection to ${target} did not land on the outbound capture port ${o.proxyPort} within ${o.timeoutMs} ms` +
                  (clientError ? ` (connect: ${clientError.message})` : "") +
                  `; check that "weft-agent iptables" ran in this network namespace and that this process is not running as the proxy's uid/gid`,
              ),
            ),
          o.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.destroy();
    await new Promise((r) => server.close(r));
  }
}
