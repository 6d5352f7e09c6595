// Scoped insertion: every storage write carries the inserting member's certificate and its
// signature over the request's fixed fields; a replica verifies both (against its ring's CA, with a
// cache) before storing anything.
import type { MemberCertificate } from '../protocol/identity';
import { type CertCheck, type RingTrust, verifyMember } from './certificates';
import { SignatureDomain } from './domains';
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

export async function signInsert(signer: StorageSigner, fields: unknown[]): Promise<InsertAuthValue> {
  return { member: signer.member, signature: await sign(SignatureDomain.storageInsert, fields, signer.secretKey) };
}

export type InsertCheck = (CertCheck & { ok: false }) | { ok: true; memberId: string; kind: 'node' | 'user'; signingKey: Uint8Array };

/**
 * Verify an insert's authorisation. `certChecked` caches certificate verification by signature (a
 * certificate verified once stays verified until it expires; expiry is re-checked every time).
 */
export async function verifyInsert(
  auth: InsertAuthValue,
  fields: unknown[],
  trust: RingTrust,
  nowMs: number,
  certChecked?: Map<string, { id: string; signingKey: Uint8Array; expiresAtMs: number }>,
): Promise<InsertCheck> {
  const key = Buffer.from(auth.member.cert.signature).toString('base64');
  let known = certChecked?.get(key);
  if (!known || nowMs >= known.expiresAtMs) {
    const check = await verifyMember(auth.member, trust, nowMs);
    if (!check.ok) return check;
    known = { id: check.id!, signingKey: check.signingKey!, expiresAtMs: auth.member.cert.expiresAtMs };
    if (certChecked) {
      if (certChecked.size > 10_000) certChecked.clear();
      certChecked.set(key, known);
    }
  }
  if (!(await verify(SignatureDomain.storageInsert, fields, auth.signature, known.signingKey)))
    return { ok: false, code: 'BAD_SIGNATURE', reason: `the insert is not signed by ${auth.member.type} ${known.id.slice(0, 12)}` };
  return { ok: true, memberId: known.id, kind: auth.member.type, signingKey: known.signingKey };
}
