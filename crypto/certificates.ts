// Organisation CAs and node certificates. A node's id is BLAKE2b-256 of its signing key, and its
// certificate binds (org, ring, node id, key, validity) under the CA's domain-separated signature.
import { ErrorCodes } from '../protocol/errors';
import type { NodeCertificate } from '../protocol/identity';
import { NODE_CERT_VALIDITY_MS } from '../protocol/limits';
import { SignatureDomain } from './domains';
import { nodeIdOf, ringIdOf } from './hash';
import { sign, signingKeyPairFromSeed, type SigningKeyPair, verify } from './sign';

/** What every member of a ring needs to know about the ring's CA. */
export interface RingTrust {
  readonly org: string;
  readonly ringId: string;
  readonly caPublicKey: Uint8Array;
}

export interface CertificateAuthority extends RingTrust {
  readonly caSecretKey: Uint8Array;
}

export async function createCertificateAuthority(org: string, seed: Uint8Array): Promise<CertificateAuthority> {
  const kp = await signingKeyPairFromSeed(seed);
  return { org: org.toLowerCase(), ringId: ringIdOf(org), caPublicKey: kp.publicKey, caSecretKey: kp.secretKey };
}

const certFields = (c: Omit<NodeCertificate, 'signature'>) => [
  c.org,
  c.ringId,
  c.nodeId,
  c.signingKey,
  c.issuedAtMs,
  c.expiresAtMs,
];

export async function issueNodeCertificate(
  ca: CertificateAuthority,
  node: Pick<SigningKeyPair, 'publicKey'>,
  opts: { nowMs: number; validityMs?: number },
): Promise<NodeCertificate> {
  const body = {
    org: ca.org,
    ringId: ca.ringId,
    nodeId: nodeIdOf(node.publicKey),
    signingKey: node.publicKey,
    issuedAtMs: opts.nowMs,
    expiresAtMs: opts.nowMs + (opts.validityMs ?? NODE_CERT_VALIDITY_MS),
  };
  return { ...body, signature: await sign(SignatureDomain.nodeCertificate, certFields(body), ca.caSecretKey) };
}

export type CertCheck = { ok: true } | { ok: false; code: string; reason: string };

/** Is this a currently valid certificate of a member of the ring `trust` describes? */
export async function verifyNodeCertificate(cert: NodeCertificate, trust: RingTrust, nowMs: number): Promise<CertCheck> {
  const who = `node ${cert.nodeId.slice(0, 12)}`;
  if (cert.ringId !== trust.ringId || cert.org !== trust.org)
    return { ok: false, code: ErrorCodes.WRONG_RING, reason: `${who} is certified for ${cert.org}, not for ${trust.org}` };
  if (nodeIdOf(cert.signingKey) !== cert.nodeId)
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: node id is not the hash of the certified key` };
  if (!(await verify(SignatureDomain.nodeCertificate, certFields(cert), cert.signature, trust.caPublicKey)))
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: certificate does not verify against the CA of ${trust.org}` };
  if (nowMs < cert.issuedAtMs || nowMs >= cert.expiresAtMs)
    return { ok: false, code: ErrorCodes.CERT_EXPIRED, reason: `${who}: certificate is not valid now (expired or not yet valid)` };
  return { ok: true };
}
