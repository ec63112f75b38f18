// Token buckets in a SharedArrayBuffer, so that every worker thread of a
// --concurrency N proxy draws from the same bucket for the same config, as
// Envoy's workers share one bucket per filter config. The primary allocates
// the memory once (createSharedBucketMemory) and hands it to each worker
// thread in its workerData; each worker opens its own view of it.
//
// Slots are found by a 64-bit hash of a key string (config location and
// bucket parameters) in a fixed open-addressing table: a slot, once claimed,
// belongs to its key for the life of the process, so the same key finds the
// same slot in every worker and after any number of xDS updates. The table is
// bounded; when it is full `bucket()` returns undefined and the caller keeps a
// bucket of its own.
import { SharedTokenBucket, type SharedBucketViews } from "./shared-token-bucket.js";
import type { TokenBucketSpec } from "./token-bucket.js";

/** A config location per slot; Istio configs rarely hold more than a few dozen local rate limits. */
export const DEFAULT_SHARED_BUCKET_CAPACITY = 4096;

/** Milliseconds on a clock that is the same in every thread of the process. */
export type SharedClock = () => number;

// process.hrtime is CLOCK_MONOTONIC, one clock for the whole process. Not
// performance.timeOrigin + performance.now(): each worker thread samples its
// own timeOrigin from the wall clock when it starts, so two threads' readings
// of the same instant differ by milliseconds (measured 4–9 ms at startup), and
// a wall-clock step between their starts would shift one against the other.
const processMonotonic: SharedClock = () => Number(process.hrtime.bigint()) / 1e6;

// Layout: an 8-byte header (capacity), then per slot, in four arrays:
//   state  Int32    EMPTY → CLAIMING → READY, never back
//   hash   Uint64   the key's hash, written before READY
//   word   Uint64   (fills << 32) | tokens, changed by compare-exchange only
//   start  Float64  when the bucket was made (start of fill 0), written before READY
const HEADER_BYTES = 8;
const EMPTY = 0;
const CLAIMING = 1;
const READY = 2;
/** How long a thread waits, at most per round, for another to finish claiming a slot (a few stores). */
const CLAIM_WAIT_MS = 5;

function layout(capacity: number): { stateAt: number; hashAt: number; wordAt: number; startAt: number; bytes: number } {
  // The Int32 states are padded to 8 bytes so the 64-bit arrays after them are aligned.
  const stateBytes = Math.ceil((capacity * 4) / 8) * 8;
  const stateAt = HEADER_BYTES;
  const hashAt = stateAt + stateBytes;
  const wordAt = hashAt + capacity * 8;
  const startAt = wordAt + capacity * 8;
  return { stateAt, hashAt, wordAt, startAt, bytes: startAt + capacity * 8 };
}

/** The memory of a bucket table with room for `capacity` buckets, all empty. */
export function createSharedBucketMemory(capacity: number = DEFAULT_SHARED_BUCKET_CAPACITY): SharedArrayBuffer {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`shared bucket capacity must be a positive integer, got ${capacity}`);
  const sab = new SharedArrayBuffer(layout(capacity).bytes);
  new Int32Array(sab, 0, 1)[0] = capacity;
  return sab;
}

/** FNV-1a, 64 bits, over the key's UTF-16 code units: computed once per config compile, not per request. */
export function hashBucketKey(key: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < key.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(key.charCodeAt(i))) * 0x100000001b3n);
  return h;
}

export class SharedBucketTable {
  readonly capacity: number;
  private readonly state: Int32Array;
  private readonly hashes: BigUint64Array;
  private readonly views: SharedBucketViews;

  constructor(
    memory: SharedArrayBuffer,
    private readonly now: SharedClock = processMonotonic,
  ) {
    this.capacity = new Int32Array(memory, 0, 1)[0]!;
    const at = layout(this.capacity);
    if (memory.byteLength < at.bytes) throw new RangeError(`shared bucket memory of ${memory.byteLength} bytes is too small for ${this.capacity} slots`);
    this.state = new Int32Array(memory, at.stateAt, this.capacity);
    this.hashes = new BigUint64Array(memory, at.hashAt, this.capacity);
    this.views = { words: new BigUint64Array(memory, at.wordAt, this.capacity), starts: new Float64Array(memory, at.startAt, this.capacity) };
  }

  /**
   * The bucket for `key` (which must encode `spec`: a slot keeps the first
   * claimer's start and is read with the caller's spec), claimed full on first
   * use; undefined when every slot belongs to another key.
   */
  bucket(key: string, spec: TokenBucketSpec): SharedTokenBucket | undefined {
    const hash = hashBucketKey(key);
    const home = Number(hash % BigInt(this.capacity));
    for (let probe = 0; probe < this.capacity; probe++) {
      const slot = (home + probe) % this.capacity;
      const owner = this.claimOrRead(slot, hash, spec);
      if (owner) return new SharedTokenBucket(this.views, slot, spec, this.now);
    }
    return undefined;
  }

  /** Slots in use (tests, and the log when the table fills). */
  used(): number {
    let n = 0;
    for (let i = 0; i < this.capacity; i++) if (Atomics.load(this.state, i) !== EMPTY) n++;
    return n;
  }

  /** True when `slot` is (now) the bucket for `hash`, claiming it if it was empty. */
  private claimOrRead(slot: number, hash: bigint, spec: TokenBucketSpec): boolean {
    for (;;) {
      const s = Atomics.load(this.state, slot);
      if (s === READY) return Atomics.load(this.hashes, slot) === hash;
      if (s === EMPTY) {
        if (Atomics.compareExchange(this.state, slot, EMPTY, CLAIMING) !== EMPTY) continue;
        // Plain stores are published by the Atomics.store of READY that follows (a seq-cst write
        // that readers observe with Atomics.load before they read these).
        Atomics.store(this.hashes, slot, hash);
        this.views.starts[slot] = this.now();
        Atomics.store(this.views.words, slot, BigInt(spec.maxTokens));
        Atomics.store(this.state, slot, READY);
        Atomics.notify(this.state, slot);
        return true;
      }
      // Another thread is between its claim and READY: a handful of stores away.
      Atomics.wait(this.state, slot, CLAIMING, CLAIM_WAIT_MS);
    }
  }
}
