// Builds native/weft_socket.node (SO_ORIGINAL_DST, SO_REUSEPORT listeners) with node-gyp as part of
// `nx run proxy:build`, so npm never needs an install script. Uses the
// node-gyp bundled with npm and the local Node headers (no download). A
// failure is reported but does not fail the build: the proxy then logs once
// that original destination is unavailable and falls back to the local address.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
  "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
  "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
].filter(Boolean);
const gyp = candidates.find((c) => existsSync(c));
if (!gyp) {
  console.warn("weft-proxy: node-gyp not found; socket addon not built (original destination and --concurrency worker threads will be unavailable)");
  process.exit(0);
}
const headers = [join(dirname(process.execPath), ".."), "/usr"].find((d) => existsSync(join(d, "include/node/node_api.h")));
const args = [gyp, "rebuild", "--directory", join(root, "native")];
if (headers) args.push(`--nodedir=${headers}`);
const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  console.warn(`weft-proxy: building the socket addon failed (original destination and --concurrency worker threads will be unavailable):\n${r.stderr || r.stdout}`);
  process.exit(0);
}
console.log("weft-proxy: built native/build/Release/weft_socket.node");
