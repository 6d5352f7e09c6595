// Sealing to a node: a user hosted on a node gives that node its keys (so notifications reach the
// user's logs while no client is connected). They travel and rest sealed to the node's key: the
// node's Ed25519 identity key converted to X25519, so no secret crosses NATS or sits on disk in clear.
import { native, toBuffer } from './sodium';

function curveKeys(signingSecretKey: Uint8Array) {
  const publicKey = Buffer.alloc(native.crypto_box_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(native.crypto_box_SECRETKEYBYTES);
  native.crypto_sign_ed25519_pk_to_curve25519(publicKey, toBuffer(signingSecretKey.subarray(32, 64)));
  native.crypto_sign_ed25519_sk_to_curve25519(secretKey, toBuffer(signingSecretKey));
  return { publicKey, secretKey };
}

/** Seal `data` for the node whose Ed25519 signing public key is given. */
export function sealToNode(nodeSigningPublicKey: Uint8Array, data: Uint8Array): Uint8Array {
  const curve = Buffer.alloc(native.crypto_box_PUBLICKEYBYTES);
  native.crypto_sign_ed25519_pk_to_curve25519(curve, toBuffer(nodeSigningPublicKey));
  const out = Buffer.alloc(data.length + native.crypto_box_SEALBYTES);
  native.crypto_box_seal(out, toBuffer(data), curve);
  return out;
}

/** Open what was sealed for this node; undefined when it was not (or was altered). */
export function openAsNode(nodeSigningSecretKey: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
  if (sealed.length < native.crypto_box_SEALBYTES) return undefined;
  const { publicKey, secretKey } = curveKeys(nodeSigningSecretKey);
  const out = Buffer.alloc(sealed.length - native.crypto_box_SEALBYTES);
  return native.crypto_box_seal_open(out, toBuffer(sealed), publicKey, secretKey) ? out : undefined;
}
