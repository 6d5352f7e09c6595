// Authenticated overlay frames (issue 12). Two nodes share a key nobody else can compute: X25519 of
// their certified Ed25519 keys (converted as for sealing to a node, crypto/nodeSeal.ts), hashed with
// both public keys. A frame between them carries a keyed-BLAKE2b MAC under that key (about a
// microsecond, where an Ed25519 signature and its check cost ~75 us); a frame to a receiver whose
// certificate the sender does not hold yet, or to a subject with no single receiver (join, discover),
// carries an Ed25519 signature instead. Both cover the same header and the frame:
//
//   header = ringId (32) || from (32) || 1 || to (32), or 0 || 32 zero bytes || stampUs (8, big-endian)
//   mac    = BLAKE2b-256 keyed by channelKey over ("POST/v1/overlay-mac\0" || header || frame)
//   sig    = Ed25519 "overlay-frame" over [header, BLAKE2b(frame)]
//
// The ring in the header keeps a gateway's frames of one ring from being accepted in the other; the
// receiver in it keeps a frame from being replayed to another node; the stamp, never repeated by one
// sender, lets the receiver refuse a replay to itself (crypto/replay.ts).
import { HashDomain, SignatureDomain } from './domains';
import { blake2b } from './hash';
import { native, toBuffer } from './sodium';
import { signSync, verifySync } from './sign';

export interface OverlayFrameFields {
  readonly ringId: string;
  readonly from: string;
  /** The receiver; undefined on a subject without a single receiver. */
  readonly to: string | undefined;
  readonly stampUs: number;
  /** The inner frame's bytes. */
  readonly frame: Uint8Array;
}

const MAC_TAG = Buffer.from(HashDomain.overlayMac, 'utf8');
const HEADER_BYTES = 32 + 32 + 1 + 32 + 8;

/** Write the fixed-layout header both proofs cover at `at` in `out`. */
function writeHeader(out: Buffer, at: number, f: OverlayFrameFields): void {
  out.write(f.ringId, at, 32, 'hex');
  out.write(f.from, at + 32, 32, 'hex');
  out[at + 64] = f.to === undefined ? 0 : 1;
  if (f.to === undefined) out.fill(0, at + 65, at + 97);
  else out.write(f.to, at + 65, 32, 'hex');
  // Stamps are below 2^53: two 32-bit halves, without a BigInt per frame.
  out.writeUInt32BE(Math.floor(f.stampUs / 2 ** 32), at + 97);
  out.writeUInt32BE(f.stampUs >>> 0, at + 101);
}

function header(f: OverlayFrameFields): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(h, 0, f);
  return h;
}

/**
 * X25519 forms of Ed25519 public keys (~70 us each): a function of public data only, so every router
 * of this process shares them (a gateway's two rings, the simulator's many nodes).
 */
const curveKeys = new Map<string, Buffer | undefined>();
const CURVE_KEYS_MAX = 10_000;

function curveKeyOf(signingKey: Uint8Array): Buffer | undefined {
  const id = toBuffer(signingKey).toString('hex');
  if (curveKeys.has(id)) return curveKeys.get(id);
  let curve: Buffer | undefined = Buffer.alloc(native.crypto_box_PUBLICKEYBYTES);
  try {
    native.crypto_sign_ed25519_pk_to_curve25519(curve, toBuffer(signingKey));
  } catch {
    curve = undefined; // not a point: no key can be agreed with it
  }
  if (curveKeys.size >= CURVE_KEYS_MAX) curveKeys.clear();
  curveKeys.set(id, curve);
  return curve;
}

/** This node's X25519 secret key, from its Ed25519 secret key (computed once per router). */
export function channelSecretOf(signingSecretKey: Uint8Array): Uint8Array {
  const secret = Buffer.alloc(native.crypto_box_SECRETKEYBYTES);
  native.crypto_sign_ed25519_sk_to_curve25519(secret, toBuffer(signingSecretKey));
  return secret;
}

/**
 * The key this node (X25519 secret `ownSecret`, Ed25519 public `ownKey`) shares with the node whose
 * certified Ed25519 key is `peerKey`; undefined when that key is not a usable curve point.
 */
export function channelKeyOf(ownSecret: Uint8Array, ownKey: Uint8Array, peerKey: Uint8Array): Uint8Array | undefined {
  const peerCurve = curveKeyOf(peerKey);
  if (!peerCurve) return undefined;
  const shared = Buffer.alloc(native.crypto_scalarmult_BYTES);
  try {
    native.crypto_scalarmult(shared, toBuffer(ownSecret), peerCurve);
  } catch {
    return undefined; // a small-order point: no key can be agreed with it
  }
  const [lo, hi] = Buffer.compare(toBuffer(ownKey), toBuffer(peerKey)) <= 0 ? [ownKey, peerKey] : [peerKey, ownKey];
  return blake2b([HashDomain.overlayChannelKey, shared, lo, hi]);
}

/** Scratch for the MAC's input: calls are synchronous, so one buffer serves them all (convergent.ts does the same). */
let macScratch = Buffer.allocUnsafe(8 * 1024);

/** One native call over one buffer: this runs for every overlay frame sent and received. */
export function overlayMac(channelKey: Uint8Array, f: OverlayFrameFields): Uint8Array {
  const length = MAC_TAG.length + HEADER_BYTES + f.frame.length;
  if (macScratch.length < length) macScratch = Buffer.allocUnsafe(Math.max(length, 2 * macScratch.length));
  const input = macScratch.subarray(0, length);
  MAC_TAG.copy(input, 0);
  writeHeader(input, MAC_TAG.length, f);
  input.set(f.frame, MAC_TAG.length + HEADER_BYTES);
  const mac = Buffer.allocUnsafe(32);
  native.crypto_generichash(mac, input, toBuffer(channelKey));
  return mac;
}

export function overlayMacMatches(channelKey: Uint8Array, f: OverlayFrameFields, mac: Uint8Array): boolean {
  if (mac.length !== 32) return false;
  return native.sodium_memcmp(toBuffer(overlayMac(channelKey, f)), toBuffer(mac)) === true;
}

const signedFields = (f: OverlayFrameFields) => [header(f), blake2b(f.frame)];

export const signOverlay = (signingSecretKey: Uint8Array, f: OverlayFrameFields): Uint8Array => signSync(SignatureDomain.overlayFrame, signedFields(f), signingSecretKey);

export const verifyOverlay = (signingKey: Uint8Array, f: OverlayFrameFields, signature: Uint8Array): boolean =>
  verifySync(SignatureDomain.overlayFrame, signedFields(f), signature, signingKey);
