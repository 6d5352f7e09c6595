// Notifications: the payload is sealed to the recipient's X25519 box key (anonymous sealed box),
// and the envelope is signed by the sender (domain `notification`) over a fixed field layout, so
// replicas and the recipient can check who sent it and to whom without opening it. Receipts are
// signed by the recipient (domain `receipt`).
import type { Random } from '../infra/ports';
import type { UserCertificate } from '../protocol/identity';
import { SignatureDomain } from './domains';
import { blake2b } from './hash';
import { sign, verify } from './sign';
import { native, toBuffer } from './sodium';

export interface EnvelopeFields {
  readonly toUserId: string;
  readonly to: string;
  readonly from: string;
  readonly timeMs: number;
  readonly nonce: Uint8Array;
  readonly sealed: Uint8Array;
}

const envelopeSigned = (e: EnvelopeFields) => [Buffer.from(e.toUserId, 'hex'), e.to, e.from, e.timeMs, e.nonce, blake2b(e.sealed)];

/** Seal `payload` so only the holder of the box secret key matching `boxPublicKey` can open it. */
export function sealTo(boxPublicKey: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(payload.length + native.crypto_box_SEALBYTES);
  native.crypto_box_seal(out, toBuffer(payload), toBuffer(boxPublicKey));
  return out;
}

/** Open a sealed payload; undefined when it was not sealed to this key pair or was altered. */
export function openSealed(sealed: Uint8Array, box: { publicKey: Uint8Array; secretKey: Uint8Array }): Uint8Array | undefined {
  if (sealed.length < native.crypto_box_SEALBYTES) return undefined;
  const out = Buffer.alloc(sealed.length - native.crypto_box_SEALBYTES);
  return native.crypto_box_seal_open(out, toBuffer(sealed), toBuffer(box.publicKey), toBuffer(box.secretKey)) ? out : undefined;
}

export async function signEnvelope(fields: EnvelopeFields, senderSecretKey: Uint8Array): Promise<Uint8Array> {
  return sign(SignatureDomain.notification, envelopeSigned(fields), senderSecretKey);
}

export async function verifyEnvelope(fields: EnvelopeFields, signature: Uint8Array, senderCert: UserCertificate): Promise<boolean> {
  return verify(SignatureDomain.notification, envelopeSigned(fields), signature, senderCert.signingKey);
}

/** A fresh 16-byte nonce: two notifications with the same content are still two notifications. */
export const envelopeNonce = (random: Random): Uint8Array => random.bytes(16);

/** The id of an envelope in its drop: BLAKE2b-256 of its signature (unique per signed envelope). */
export const entryIdOf = (signature: Uint8Array): string => Buffer.from(blake2b(['entry', signature])).toString('hex');

const receiptSigned = (r: { dropId: string; entryIds: readonly string[]; outcome: string; timeMs: number }) => [
  Buffer.from(r.dropId, 'hex'),
  blake2b(r.entryIds.map((id) => Buffer.from(id, 'hex'))),
  r.outcome,
  r.timeMs,
];

export function signReceipt(r: { dropId: string; entryIds: readonly string[]; outcome: string; timeMs: number }, recipientSecretKey: Uint8Array): Promise<Uint8Array> {
  return sign(SignatureDomain.receipt, receiptSigned(r), recipientSecretKey);
}

export function verifyReceipt(
  r: { dropId: string; entryIds: readonly string[]; outcome: string; timeMs: number },
  signature: Uint8Array,
  recipientCert: UserCertificate,
): Promise<boolean> {
  return verify(SignatureDomain.receipt, receiptSigned(r), signature, recipientCert.signingKey);
}

/** A recipient's inbox drop: id("inbox", R) = BLAKE2b-256("inbox" || R's user id). */
export const dropIdOf = (userId: string): string => Buffer.from(blake2b(['inbox', Buffer.from(userId, 'hex')])).toString('hex');
