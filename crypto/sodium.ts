// The one place libsodium is loaded, through one binding: sodium-native (synchronous, into buffers the
// caller may reuse). Nothing outside crypto/ imports it (test/unit/architecture.test.ts).
//
// Why not sodium-plus, the package the project started with: it is an asynchronous wrapper that, on
// Node, calls this same sodium-native underneath (STACK.md: it "picks the sodium-native backend") and
// allocates a fresh output buffer for every call. The protocol needs the synchronous calls anyway:
// replicas verify every signed object inside a pure, synchronous acceptance rule
// (storage/signedObject.ts), the router authenticates every frame before it becomes a machine event,
// and bulk AEAD reuses scratch buffers (STACK.md: up to 40% of its throughput). Using both meant two
// code paths for the same signature bytes (sign.ts' async sign beside a synchronous signSync); now each
// primitive has one: sign.ts' async functions are the synchronous ones, returned as promises for
// their callers.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** libsodium (typed loosely: sodium-native ships no types). */
export const native: any = require('sodium-native');

export const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
