// Last step of `generate`, after `buf generate`:
//
// 1. Every generated src/gen/**/_pb.ts hydrates its file descriptor through
//    src/descriptor-cache.ts instead of @bufbuild/protobuf/codegenv2's
//    fileDesc directly, so a file has one DescFile whether it was reached by
//    importing its module or through the registry (see src/registry.ts).
// 2. Writes src/gen/registry-index.ts: each file's embedded descriptor (the
//    same base64 protoc-gen-es wrote) with its dependencies, and which file
//    defines each message, enum, extension and service. The registry hydrates
//    a file only when one of its types is first asked for, so a process pays
//    for the descriptors it uses, not for all of them at import.
//
// Output is sorted, and step 1 is idempotent, so a second run gives no diff.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import * as wkt from "@bufbuild/protobuf/wkt";

const srcDir = join(dirname(fileURLToPath(import.meta.url)), "..", "src");
const genDir = join(srcDir, "gen");
const CACHE_MODULE = join(srcDir, "descriptor-cache.js");

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith("_pb.ts") ? [join(dir, e.name)] : [],
  );
}

const WKT = [
  "any", "api", "descriptor", "duration", "empty", "field_mask", "source_context",
  "struct", "timestamp", "type", "wrappers",
];

// ---- 1. fileDesc through the shared cache --------------------------------------------------
const CODEGEN_IMPORT = /^import \{ ([^}]*) \} from "@bufbuild\/protobuf\/codegenv2";$/m;

function useSharedFileDesc(path, src) {
  const spec = relative(dirname(path), CACHE_MODULE).replace(/\\/g, "/");
  const cacheImport = `import { fileDesc } from "${spec.startsWith(".") ? spec : "./" + spec}";`;
  if (src.includes(cacheImport)) return src;
  const m = CODEGEN_IMPORT.exec(src);
  if (!m) throw new Error(`${path}: no value import from @bufbuild/protobuf/codegenv2`);
  const rest = m[1].split(",").map((s) => s.trim()).filter((s) => s && s !== "fileDesc");
  if (rest.length === m[1].split(",").length) throw new Error(`${path}: fileDesc is not imported from codegenv2`);
  const replacement = (rest.length ? `import { ${rest.join(", ")} } from "@bufbuild/protobuf/codegenv2";\n` : "") + cacheImport;
  return src.slice(0, m.index) + replacement + src.slice(m.index + m[0].length);
}

// ---- 2. the index --------------------------------------------------------------------------
/** Every type a FileDescriptorProto defines (full names), and its extensions as "extendee:number". */
function typesOf(fdp) {
  const types = [];
  const extensions = [];
  const pkg = fdp.package ? fdp.package + "." : "";
  const ext = (e, scope) => {
    types.push(scope + e.name);
    extensions.push(`${e.extendee.replace(/^\./, "")}:${e.number}`);
  };
  const message = (d, scope) => {
    // Map entries are no types of their own in protobuf-es (a map field describes them).
    if (d.options?.mapEntry) return;
    const name = scope + d.name;
    types.push(name);
    for (const n of d.nestedType) message(n, name + ".");
    for (const e of d.enumType) types.push(name + "." + e.name);
    for (const e of d.extension) ext(e, name + ".");
  };
  for (const d of fdp.messageType) message(d, pkg);
  for (const e of fdp.enumType) types.push(pkg + e.name);
  for (const e of fdp.extension) ext(e, pkg);
  for (const s of fdp.service) types.push(pkg + s.name);
  return { types, extensions };
}

const FILE_DESC_CALL = /export const (file_\w+): GenFile = \/\*@__PURE__\*\/\s*fileDesc\("([A-Za-z0-9+/=]+)"(?:, \[([\w, ]*)\])?\);/;

const generated = walk(genDir)
  .sort((a, b) => relative(genDir, a).localeCompare(relative(genDir, b)))
  .map((path) => {
    const before = readFileSync(path, "utf8");
    const src = useSharedFileDesc(path, before);
    if (src !== before) writeFileSync(path, src);
    const m = FILE_DESC_CALL.exec(src);
    if (!m) throw new Error(`${path}: no file descriptor export`);
    const [, exportName, b64, deps] = m;
    const fdp = fromBinary(wkt.FileDescriptorProtoSchema, base64Decode(b64));
    return { exportName, b64, depExports: deps ? deps.split(",").map((s) => s.trim()) : [], fdp };
  });

const wellKnown = WKT.map((w) => ({ exportName: `file_google_protobuf_${w}`, file: wkt[`file_google_protobuf_${w}`] }));
const indexOfExport = new Map([...wellKnown, ...generated].map((f, i) => [f.exportName, i]));
const typeFiles = [];
const extensionFiles = [];
wellKnown.forEach(({ exportName, file }, i) => {
  if (!file) throw new Error(`@bufbuild/protobuf/wkt has no ${exportName}`);
  for (const t of nestedTypes(file)) {
    typeFiles.push([t.typeName, i]);
    if (t.kind === "extension") extensionFiles.push([`${t.extendee.typeName}:${t.number}`, i]);
  }
});
generated.forEach((g, j) => {
  const i = wellKnown.length + j;
  const { types, extensions } = typesOf(g.fdp);
  for (const t of types) typeFiles.push([t, i]);
  for (const e of extensions) extensionFiles.push([e, i]);
});
const seen = new Map();
for (const [t, i] of typeFiles) {
  if (seen.has(t)) throw new Error(`${t} is defined twice (files ${seen.get(t)} and ${i})`);
  seen.set(t, i);
}
const depIndexes = (g) =>
  g.depExports.map((d) => {
    const i = indexOfExport.get(d);
    if (i === undefined) throw new Error(`${g.fdp.name}: imports ${d}, which is not generated`);
    return i;
  });
const byKey = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

const lines = [
  "// @generated by scripts/write-registry-index.mjs: every file descriptor Weft generates, hydrated on demand.",
  "/* eslint-disable */",
  'import type { DescFile } from "@bufbuild/protobuf";',
  `import { ${wellKnown.map((w) => w.exportName).join(", ")} } from "@bufbuild/protobuf/wkt";`,
  "",
  "/** Files 0.." + (wellKnown.length - 1) + ": the well-known types, @bufbuild/protobuf's own instances. */",
  "export const wellKnownFiles: readonly DescFile[] = [",
  ...wellKnown.map((w) => `  ${w.exportName},`),
  "];",
  "",
  "/** Files " + wellKnown.length + "..: [proto file name, embedded descriptor (as protoc-gen-es wrote it), dependencies by file index]. */",
  "export const embeddedFiles: readonly (readonly [name: string, descriptor: string, dependencies: readonly number[]])[] = [",
  ...generated.map((g) => `  [${JSON.stringify(g.fdp.name)}, "${g.b64}", [${depIndexes(g).join(", ")}]],`),
  "];",
  "",
  "/** Full type name (message, enum, extension, service) -> index of the file defining it. */",
  "export const typeFiles: Readonly<Record<string, number>> = {",
  ...typeFiles.sort(byKey).map(([t, i]) => `  ${JSON.stringify(t)}: ${i},`),
  "};",
  "",
  '/** "extendee:field number" -> index of the file defining that extension. */',
  "export const extensionFiles: Readonly<Record<string, number>> = {",
  ...extensionFiles.sort(byKey).map(([e, i]) => `  ${JSON.stringify(e)}: ${i},`),
  "};",
  "",
];
// ASCII only: V8 keeps every module's source text, and one character outside Latin-1
// stores the whole ≈ 380 KB of this one as two-byte (twice the heap).
const text = lines.join("\n");
const wide = /[^\x00-\xff]/u.exec(text);
if (wide) throw new Error(`registry-index.ts would hold ${JSON.stringify(wide[0])} (at ${wide.index}): keep it Latin-1`);
writeFileSync(join(genDir, "registry-index.ts"), text);
