// What creating and revoking users needs from the organisation's CA: certificates, and signatures on
// the CA-owned directory records. An interface, so the CA's secret key can stay where the operator
// keeps it (`post user add --ca DIR` passes a local one; a remote signing service could implement it).
import { type CertificateAuthority, issueUserCertificate, type RingTrust } from '../../crypto/certificates';
import type { UserCertificate } from '../../protocol/identity';
import { type SignedObject, signObjectVersion } from '../signedObject';

export interface UserIssuer {
  readonly trust: RingTrust;
  issue(user: { address: string; signingKey: Uint8Array; boxKey: Uint8Array }, nowMs: number): Promise<UserCertificate>;
  /** Sign a version of an object owned by the CA's key (seq 1 without `previous`). */
  signObject(name: string, payload: Uint8Array, previous?: SignedObject): Promise<SignedObject>;
}

export function localUserIssuer(ca: CertificateAuthority, opts: { validityMs?: number } = {}): UserIssuer {
  const keys = { publicKey: ca.caPublicKey, secretKey: ca.caSecretKey };
  return {
    trust: { org: ca.org, ringId: ca.ringId, caPublicKey: ca.caPublicKey },
    issue: (user, nowMs) => issueUserCertificate(ca, user, { nowMs, ...(opts.validityMs !== undefined ? { validityMs: opts.validityMs } : {}) }),
    signObject: (name, payload, previous) => signObjectVersion({ keys, name, payload, ...(previous ? { previous } : {}) }),
  };
}
