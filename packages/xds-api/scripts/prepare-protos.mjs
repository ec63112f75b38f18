// Stage the pinned .proto sources for `buf generate`.
//
// The Envoy, xDS, googleapis and protoc-gen-validate protos come from the npm
// package @grpc/grpc-js-xds (its deps/ folder), pinned in package.json. That
// package's validate/validate.proto predates the Envoy protos that use it: it
// has no `ignore_empty` option, which Envoy uses on string rules, so buf
// refuses to compile them. Rather than edit files by hand, this step copies
// the sources into .proto-build/ (git-ignored) and adds `ignore_empty` to the
// rule messages that upstream protoc-gen-validate defines it on, with
// upstream's field numbers, so descriptors stay wire-compatible with PGV.
// Weft's own protos (proto/) are copied beside them. A few upstream files
// import protos the package does not ship (OpenCensus, OpenTelemetry, CEL…);
// buf compiles the whole staged tree, so those files, and any that import
// them, are left out of the staging area. None of them is one Weft uses.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = join(here, "..");
const out = join(pkgRoot, ".proto-build");
const require = createRequire(import.meta.url);
const xdsPkg = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
const deps = join(xdsPkg, "deps");

// Field numbers of `optional bool ignore_empty` in upstream validate.proto.
const IGNORE_EMPTY_FIELD = {
  FloatRules: 8, DoubleRules: 8, Int32Rules: 8, Int64Rules: 8, UInt32Rules: 8,
  UInt64Rules: 8, SInt32Rules: 8, SInt64Rules: 8, Fixed32Rules: 8,
  Fixed64Rules: 8, SFixed32Rules: 8, SFixed64Rules: 8,
  StringRules: 26, BytesRules: 14, RepeatedRules: 5, MapRules: 6,
};

export function addIgnoreEmpty(source) {
  let text = source;
  for (const [message, field] of Object.entries(IGNORE_EMPTY_FIELD)) {
    const header = `message ${message} {`;
    const at = text.indexOf(header);
    if (at < 0) throw new Error(`validate.proto: message ${message} not found; has the pinned @grpc/grpc-js-xds changed?`);
    if (/ignore_empty/.test(blockOf(text, at))) continue; // already upstream-shaped
    const insertAt = at + header.length;
    const line = `\n    // Added by Weft's prepare-protos step (upstream PGV field ${field}).\n    optional bool ignore_empty = ${field};\n`;
    text = text.slice(0, insertAt) + line + text.slice(insertAt);
  }
  return text;
}

function blockOf(text, start) {
  let depth = 0;
  for (let i = text.indexOf("{", start); i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(start, i);
  }
  return text.slice(start);
}

function listProtos(dir, prefix = "") {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listProtos(join(dir, entry.name), rel));
    else if (entry.name.endsWith(".proto")) files.push(rel);
  }
  return files;
}

/** Removes staged files whose imports (transitively) do not exist. */
export function pruneUnresolvable(root) {
  const files = new Set(listProtos(root));
  const imports = new Map();
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    imports.set(file, [...text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)].map((m) => m[1]));
  }
  const isBuiltin = (path) => path.startsWith("google/protobuf/");
  const removed = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const file of files) {
      if (imports.get(file).some((dep) => !isBuiltin(dep) && !files.has(dep))) {
        files.delete(file);
        rmSync(join(root, file));
        removed.push(file);
        changed = true;
      }
    }
  }
  return removed.sort();
}

function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const dir of ["envoy-api", "xds", "googleapis", "protoc-gen-validate"]) {
    cpSync(join(deps, dir), out, {
      recursive: true,
      filter: (src) => !/[/\\](java|tests|bazel|python|go)([/\\]|$)/.test(src.slice(deps.length)),
    });
  }
  cpSync(join(pkgRoot, "proto"), out, { recursive: true });
  const validatePath = join(out, "validate", "validate.proto");
  writeFileSync(validatePath, addIgnoreEmpty(readFileSync(validatePath, "utf8")));
  const removed = pruneUnresolvable(out);
  writeFileSync(join(out, "PRUNED.txt"), removed.join("\n") + "\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
