// Bundles a compiled Weft binary and everything it imports (its own package,
// @weft/xds-api, @bufbuild/protobuf, pino, connect…) into one ES module — the
// file its package.json `bin` names, so weftctl, the agent and npm's .bin
// links all start the bundle. Run from the package's directory as the last
// step of its Nx build:
//
//   node ../../scripts/bundle-bin.mjs dist/bin/weft-proxy.js dist/bundle/weft-proxy.mjs
//
// Why: weft-proxy and weft-agent run in every pod, and their idle memory is
// paid once per pod. Loaded as hundreds of separate ES modules, a process
// keeps a module record, a namespace, a loader job and the source text of
// each; as one module, whitespace and syntax minified (identifiers kept, so
// stack traces and logged class names stay readable), weft-proxy idles ≈ 5 MB
// lower and weft-agent ≈ 4 MB (bench/RESULTS.md, session 6). The library
// entries (dist/index.js) are untouched.
//
// Left out, loaded at run time from node_modules as before: what the code
// itself loads lazily through createRequire (yaml, re2-wasm, undici) and the
// proxy's native SO_ORIGINAL_DST addon. The bundle sits two directories below
// the package root like every dist/<dir>/<file>.js, so relative paths such as
// ../../package.json resolve the same from it.
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { resolve } from "node:path";

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error("usage: node scripts/bundle-bin.mjs <compiled entry .js> <bundle .mjs> (paths relative to the package)");
  process.exit(2);
}

const result = await build({
  entryPoints: [resolve(entry)],
  outfile: resolve(outfile),
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
  console.error(`bundle-bin: ${outfile} still imports ${stray.join(", ")} — bundle them or load them lazily through createRequire`);
  process.exit(1);
}
