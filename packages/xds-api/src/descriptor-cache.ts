// One DescFile per generated .proto file, however it is reached. Every
// src/gen/**/_pb.ts hydrates its descriptor through fileDesc() here (the
// generate step rewrites protoc-gen-es's import to point at this module), and
// the registry (registry.ts) hydrates files nobody imported through the same
// function, from the same embedded descriptor. So importing ListenerSchema and
// then unpacking an Any of a Listener, in either order, yields the same
// descriptor objects: no file is decoded or held twice.
import { fileDesc as hydrate, type GenFile } from "@bufbuild/protobuf/codegenv2";

/** Keyed by the embedded descriptor itself: the identical string literal in a _pb module and in the index. */
const hydrated = new Map<string, GenFile>();

/** @bufbuild/protobuf/codegenv2's fileDesc, once per embedded descriptor. */
export function fileDesc(b64: string, imports?: GenFile[]): GenFile {
  let file = hydrated.get(b64);
  if (file === undefined) {
    file = hydrate(b64, imports);
    hydrated.set(b64, file);
  }
  return file;
}

/** How many generated files have been hydrated so far (tests, diagnostics). */
export function hydratedFileCount(): number {
  return hydrated.size;
}
