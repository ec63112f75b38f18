// Requests one after another on a single keep-alive connection, for tests of per-connection state
// (a per-connection rate-limit bucket sees them all; a listener drain closes them in turn).
import http from "node:http";

/** `n` GETs of `path` on one keep-alive connection to 127.0.0.1:`port`; their status codes in order. */
export async function statusesOnOneConnection(port: number, path: string, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const codes: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      codes.push(
        await new Promise<number>((resolve, reject) => {
          http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode!));
          }).on("error", reject);
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  return codes;
}
