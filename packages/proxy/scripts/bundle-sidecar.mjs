// Bundles the compiled proxy (dist/bin/weft-proxy.js and everything it
// imports: this package, @weft/xds-api, @bufbuild/protobuf, pino) into one
// ES module, dist/sidecar/weft-proxy.mjs — the file package.json's `bin`
// names, so the agent, weftctl and npm's .bin link all start it.
//
// Why: a sidecar runs in every pod, and its idle memory is paid once per pod.
// Loaded as ~380 separate ES modules the proxy keeps a module record, a
// namespace, a loader job and its source text per file; as one module, with
// whitespace and syntax minified (identifiers kept, so stack traces and
// logged class names stay readable), it idles ≈ 5 MB lower (bench/RESULTS.md,
// session 6). The library entry (dist/index.js) is untouched.
//
// Left out of the bundle, loaded at run time from node_modules as before:
// what the code itself loads lazily through createRequire (yaml, re2-wasm,
// undici) and the native SO_ORIGINAL_DST addon. The bundle lives two levels
// below the package root like every other dist/<dir>/<file>.js, so their
// relative paths (../../package.json, ../../native/...) resolve the same.
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist/bin/weft-proxy.js");
const outfile = join(root, "dist/sidecar/weft-proxy.mjs");

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  // CommonJS dependencies bundled into an ES module call require() for Node's builtins.
  banner: { js: "import { createRequire as __weftCreateRequire } from 'node:module'; const require = __weftCreateRequire(import.meta.url);" },
});

// The point of the bundle is one module: fail the build if anything but a Node builtin is still imported statically.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
const stray = [...new Set(imports.filter((p) => !builtins.has(p)))];
if (stray.length) {
  console.error(`bundle-sidecar: ${relative(root, outfile)} still imports ${stray.join(", ")} — bundle them or load them lazily through createRequire`);
  process.exit(1);
}
