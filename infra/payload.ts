// Copies of payloads. Both transports copy what is published (the NATS client would otherwise send
// whatever the caller writes into the buffer before the next flush) and the simulator copies again
// per receiver. Allocating a typed array of a few hundred bytes costs about a microsecond (its memory
// lives outside V8's heap), more than the rest of a simulated delivery, so small copies are cut from
// shared slabs, as Node's Buffer pool does. Receivers get views with a non-zero byteOffset, exactly
// as from the NATS client (whose payloads are views into its read buffer), so code that wrongly
// reads `data.buffer` fails in simulation too.

/** Payloads up to this size share slabs; larger ones amortise their own allocation. */
const SLAB_PAYLOAD_BYTES_MAX = 1024;
/** Small enough that one long-lived payload does not pin much memory. */
const SLAB_BYTES = 16 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

export function copyPayload(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n > SLAB_PAYLOAD_BYTES_MAX) return data.slice();
  if (used + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const copy = slab.subarray(used, used + n);
  copy.set(data);
  used += n;
  return copy;
}
