// The ArrayBuffer bytes this process holds after a full collection, for memory
// tests of the data path: garbage read buffers would otherwise blur the count.
// V8 frees dead ArrayBuffers' memory in the background, so tests read it
// through settled() until the figure stops moving.
import * as v8 from "node:v8";
import * as vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

export function heldArrayBuffers(): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}
