// Connects to host:port and prints what the listener answered ("<name>:<port>"), or ERR.
import { connect } from "node:net";

const [host, port] = process.argv.slice(2);
const s = connect({ host, port: Number(port) });
let got = "";
s.setTimeout(3000, () => {
  process.stdout.write("ERR timeout");
  process.exit(1);
});
s.on("data", (d) => (got += d));
s.on("end", () => {
  process.stdout.write(got);
  process.exit(0);
});
s.on("error", (e) => {
  process.stdout.write(`ERR ${e.code ?? e.message}`);
  process.exit(1);
});
