// Listens on the given ports and answers every connection with "<name>:<port>", so a
// client can tell where capture sent it. Prints "ready" once all ports listen.
import { createServer } from "node:net";

const [name, ...ports] = process.argv.slice(2);
let pending = ports.length;
for (const port of ports) {
  const server = createServer((s) => {
    s.on("error", () => {});
    s.end(`${name}:${port}`);
  });
  server.listen(Number(port), "0.0.0.0", () => {
    if (--pending === 0) process.stdout.write("ready\n");
  });
}
process.on("SIGTERM", () => process.exit(0));
