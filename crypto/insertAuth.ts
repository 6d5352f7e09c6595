// Scoped insertion: every storage write carries the inserting member's certificate and its
// signature over the request's fixed fields; a replica verifies both (against its ring's CA, with a
// cache) before storing anything.
import type { MemberCertificate } from '../protocol/identity';
import { type CertCheck, type RingTrust, verifyMember } from './certificates';
import { SignatureDomain, type SignatureDomainName } from './domains';
import { sign, verify } from './sign';

/** A member able to sign storage requests: its certificate and its signing secret key. */
export interface StorageSigner {
  readonly member: MemberCertificate;
  readonly secretKey: Uint8Array;
  /** The member's id: node id or user id (what quotas are charged to). */
  readonly id: string;
}

export interface InsertAuthValue {
  readonly member: MemberCertificate;
  readonly signature: Uint8Array;
}

/**
 * An object put's authorisation: a member's signature over the put's fields, or, when the member is
 * the object's owner, no signature at all (the owner's signature on the object is the proof; issue 11:
 * one Ed25519 signature fewer per head write, and one verification fewer on each replica).
 */
export interface ObjectInsertAuthValue {
  readonly member: MemberCertificate;
  readonly signature?: Uint8Array;
}

export async function signInsert(signer: StorageSigner, fields: unknown[]): Promise<InsertAuthValue> {
  return { member: signer.member, signature: await sign(SignatureDomain.storageInsert, fields, signer.secretKey) };
}

export type InsertCheck = (CertCheck & { ok: false }) | { ok: true; memberId: string; kind: 'node' | 'user'; signingKey: Uint8Array };

/**
 * Verify an insert's authorisation. `certChecked` caches certificate verification by signature (a
 * certificate verified once stays verified until it expires; expiry is re-checked every time).
 */
type CertCache = Map<string, { id: string; signingKey: Uint8Array; expiresAtMs: number }>;

/** The member's certificate, verified against the ring's CA (cached by signature until it expires). */
async function knownMember(member: MemberCertificate, trust: RingTrust, nowMs: number, certChecked?: CertCache) {
  // Keyed by kind too: a certificate verified as a user's must never pass as a node's (or back).
  const key = `${member.type}:${Buffer.from(member.cert.signature).toString('base64')}`;
  const cached = certChecked?.get(key);
  if (cached && nowMs < cached.expiresAtMs) return { ok: true as const, known: cached };
  const check = await verifyMember(member, trust, nowMs);
  if (!check.ok) return check;
  const known = { id: check.id!, signingKey: check.signingKey!, expiresAtMs: member.cert.expiresAtMs };
  if (certChecked) {
    if (certChecked.size > 10_000) certChecked.clear();
    certChecked.set(key, known);
  }
  return { ok: true as const, known };
}

export async function verifyInsert(auth: InsertAuthValue, fields: unknown[], trust: RingTrust, nowMs: number, certChecked?: CertCache): Promise<InsertCheck> {
  return verifySigned(SignatureDomain.storageInsert, 'insert', auth, fields, trust, nowMs, certChecked);
}

async function verifySigned(
  domain: SignatureDomainName,
  what: string,
  auth: InsertAuthValue,
  fields: unknown[],
  trust: RingTrust,
  nowMs: number,
  certChecked?: CertCache,
): Promise<InsertCheck> {
  const member = await knownMember(auth.member, trust, nowMs, certChecked);
  if (!member.ok) return member;
  const { known } = member;
  if (!(await verify(domain, fields, auth.signature, known.signingKey)))
    return { ok: false, code: 'BAD_SIGNATURE', reason: `the ${what} is not signed by ${auth.member.type} ${known.id.slice(0, 12)}` };
  return { ok: true, memberId: known.id, kind: auth.member.type, signingKey: known.signingKey };
}

/** A node's repair offer, signed over the offer's digest (storage/repair.ts offerDigest). */
export async function signOffer(signer: StorageSigner, digest: Uint8Array): Promise<InsertAuthValue> {
  return { member: signer.member, signature: await sign(SignatureDomain.storageOffer, [digest], signer.secretKey) };
}

/** A repair offer's authorisation: a node of the ring (only nodes carry other members' leases), signed. */
export async function verifyOffer(auth: InsertAuthValue, digest: Uint8Array, trust: RingTrust, nowMs: number, certChecked?: CertCache): Promise<InsertCheck> {
  if (auth.member.type !== 'node') return { ok: false, code: 'NOT_AUTHORISED', reason: `a ${auth.member.type} may not offer blocks for repair; only nodes do` };
  return verifySigned(SignatureDomain.storageOffer, 'offer', auth, [digest], trust, nowMs, certChecked);
}

/**
 * An object put's authorisation. Without a signature the member must be the object's owner; the
 * caller then relies on the object's own signature, which the acceptance rule verifies.
 */
export async function verifyObjectInsert(auth: ObjectInsertAuthValue, fields: unknown[], owner: Uint8Array, trust: RingTrust, nowMs: number, certChecked?: CertCache): Promise<InsertCheck> {
  if (auth.signature) return verifyInsert({ member: auth.member, signature: auth.signature }, fields, trust, nowMs, certChecked);
  const member = await knownMember(auth.member, trust, nowMs, certChecked);
  if (!member.ok) return member;
  const { known } = member;
  if (!Buffer.from(known.signingKey).equals(Buffer.from(owner)))
    return { ok: false, code: 'BAD_SIGNATURE', reason: `an unsigned put by ${auth.member.type} ${known.id.slice(0, 12)}, who does not own the object` };
  return { ok: true, memberId: known.id, kind: auth.member.type, signingKey: known.signingKey };
}

/** The authorisation of a put of an object `owner` signed: none needed beyond the certificate when the signer owns it. */
export async function signObjectInsert(signer: StorageSigner, owner: Uint8Array, fields: unknown[]): Promise<ObjectInsertAuthValue> {
  if (Buffer.from(signer.member.cert.signingKey).equals(Buffer.from(owner))) return { member: signer.member };
  return signInsert(signer, fields);
}
