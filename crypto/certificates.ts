// Organisation CAs and node certificates. A node's id is BLAKE2b-256 of its signing key, and its
// certificate binds (org, ring, node id, key, validity) under the CA's domain-separated signature.
import { ErrorCodes, type ErrorCode } from '../protocol/errors';
import { canonicalBytes } from '../protocol/frame';
import type { MemberCertificate, NodeCertificate, OperatorCertificate, OperatorRole, UserCertificate } from '../protocol/identity';
import { NODE_CERT_VALIDITY_MS, OPERATOR_CERT_VALIDITY_MS, VERIFIED_USER_CERTS_MAX } from '../protocol/limits';
import { HashDomain, SignatureDomain } from './domains';
import { blake2bHex, nodeIdOf, ringIdOf, userIdOf } from './hash';
import { sign, SignatureMemo, signedBytes, signingKeyPairFromSeed, type SigningKeyPair, verifySignedBytesSync, verifySync } from './sign';

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
    issuedAtMs: Math.floor(opts.nowMs),
    expiresAtMs: Math.floor(opts.nowMs + (opts.validityMs ?? NODE_CERT_VALIDITY_MS)),
  };
  return { ...body, signature: await sign(SignatureDomain.nodeCertificate, certFields(body), ca.caSecretKey) };
}

export type CertCheck = { ok: true } | { ok: false; code: ErrorCode; reason: string };

/** Is this a currently valid certificate of a member of the ring `trust` describes? */
export async function verifyNodeCertificate(cert: NodeCertificate, trust: RingTrust, nowMs: number): Promise<CertCheck> {
  return verifyNodeCertificateSync(cert, trust, nowMs);
}

/**
 * Node certificates whose CA signature verified, by a hash of everything that verification reads
 * (CA key, fields, signature): every router of this process shares them (a gateway's two rings, the
 * simulator's many nodes), so one certificate costs one Ed25519 verification per process.
 */
const caVerified = new Set<string>();
const CA_VERIFIED_MAX = 10_000;

function caSigned(cert: NodeCertificate, caPublicKey: Uint8Array): boolean {
  const fields = certFields(cert);
  const key = blake2bHex([caPublicKey, canonicalBytes(fields), cert.signature]);
  if (caVerified.has(key)) return true;
  if (!verifySync(SignatureDomain.nodeCertificate, fields, cert.signature, caPublicKey)) return false;
  if (caVerified.size >= CA_VERIFIED_MAX) caVerified.clear();
  caVerified.add(key);
  return true;
}

/** The same check, synchronous: the router authenticates overlay frames in arrival order. */
export function verifyNodeCertificateSync(cert: NodeCertificate, trust: RingTrust, nowMs: number): CertCheck {
  const who = `node ${cert.nodeId.slice(0, 12)}`;
  if (cert.ringId !== trust.ringId || cert.org !== trust.org)
    return { ok: false, code: ErrorCodes.WRONG_RING, reason: `${who} is certified for ${cert.org}, not for ${trust.org}` };
  if (nodeIdOf(cert.signingKey) !== cert.nodeId)
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: node id is not the hash of the certified key` };
  if (!caSigned(cert, trust.caPublicKey))
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: certificate does not verify against the CA of ${trust.org}` };
  if (nowMs < cert.issuedAtMs || nowMs >= cert.expiresAtMs)
    return { ok: false, code: ErrorCodes.CERT_EXPIRED, reason: `${who}: certificate is not valid now (expired or not yet valid)` };
  return { ok: true };
}

// ---- operators ---------------------------------------------------------------------------------------

/** An operator's id: BLAKE2b-256(tag || key). Tagged, so that it can never be a node's id (the bare hash). */
export const operatorIdOf = (signingKey: Uint8Array): string => blake2bHex([HashDomain.operatorId, signingKey]);

const operatorFields = (c: Omit<OperatorCertificate, 'signature'>) => [c.name, c.org, c.ringId, c.operatorId, [...c.roles], c.signingKey, c.issuedAtMs, c.expiresAtMs];

export async function issueOperatorCertificate(
  ca: CertificateAuthority,
  operator: { name: string; signingKey: Uint8Array; roles: readonly OperatorRole[] },
  opts: { nowMs: number; validityMs?: number },
): Promise<OperatorCertificate> {
  const body = {
    name: operator.name,
    org: ca.org,
    ringId: ca.ringId,
    operatorId: operatorIdOf(operator.signingKey),
    roles: [...operator.roles],
    signingKey: operator.signingKey,
    issuedAtMs: Math.floor(opts.nowMs),
    expiresAtMs: Math.floor(opts.nowMs + (opts.validityMs ?? OPERATOR_CERT_VALIDITY_MS)),
  };
  return { ...body, signature: await sign(SignatureDomain.operatorCertificate, operatorFields(body), ca.caSecretKey) };
}

/** Is this a currently valid operator certificate of `trust`'s organisation? */
export function verifyOperatorCertificate(cert: OperatorCertificate, trust: RingTrust, nowMs: number): CertCheck {
  const who = `operator ${cert.name} (${cert.operatorId.slice(0, 12)})`;
  if (cert.ringId !== trust.ringId || cert.org !== trust.org)
    return { ok: false, code: ErrorCodes.WRONG_RING, reason: `${who} is certified for ${cert.org}, not for ${trust.org}` };
  if (operatorIdOf(cert.signingKey) !== cert.operatorId)
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: operator id is not the hash of the certified key` };
  if (!verifySync(SignatureDomain.operatorCertificate, operatorFields(cert), cert.signature, trust.caPublicKey))
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: certificate does not verify against the CA of ${trust.org}` };
  if (nowMs < cert.issuedAtMs || nowMs >= cert.expiresAtMs)
    return { ok: false, code: ErrorCodes.CERT_EXPIRED, reason: `${who}: certificate is not valid now (expired or not yet valid); \`post ca operator\` issues a new one` };
  return { ok: true };
}

// ---- users -----------------------------------------------------------------------------------------

const userFields = (c: Omit<UserCertificate, 'signature'>) => [c.address, c.org, c.ringId, c.userId, c.signingKey, c.boxKey, c.issuedAtMs, c.expiresAtMs];

export async function issueUserCertificate(
  ca: CertificateAuthority,
  user: { address: string; signingKey: Uint8Array; boxKey: Uint8Array },
  opts: { nowMs: number; validityMs?: number },
): Promise<UserCertificate> {
  const address = user.address.toLowerCase();
  const body = {
    address,
    org: ca.org,
    ringId: ca.ringId,
    userId: userIdOf(address),
    signingKey: user.signingKey,
    boxKey: user.boxKey,
    issuedAtMs: Math.floor(opts.nowMs),
    expiresAtMs: Math.floor(opts.nowMs + (opts.validityMs ?? NODE_CERT_VALIDITY_MS)),
  };
  return { ...body, signature: await sign(SignatureDomain.userCertificate, userFields(body), ca.caSecretKey) };
}

/**
 * User certificates that verified, by signature, bytes and CA key. (Every notification and storage
 * insert carries its user's certificate: a third of a mail node's Ed25519 verifications were of
 * certificates it had verified before.)
 */
const verifiedUserCerts = new SignatureMemo(VERIFIED_USER_CERTS_MAX);

function verifyUserCertSignature(cert: UserCertificate, caPublicKey: Uint8Array): boolean {
  const bytes = signedBytes(SignatureDomain.userCertificate, userFields(cert));
  if (verifiedUserCerts.holds(bytes, cert.signature, caPublicKey)) return true;
  if (!verifySignedBytesSync(bytes, cert.signature, caPublicKey)) return false;
  verifiedUserCerts.remember(bytes, cert.signature, caPublicKey);
  return true;
}

/** Is this a currently valid certificate of a user of `trust`'s organisation? */
export async function verifyUserCertificate(cert: UserCertificate, trust: RingTrust, nowMs: number): Promise<CertCheck> {
  const who = `user ${cert.address}`;
  const domain = cert.address.split('@')[1] ?? '';
  if (cert.ringId !== trust.ringId || cert.org !== trust.org)
    return { ok: false, code: ErrorCodes.WRONG_RING, reason: `${who} is certified for ${cert.org}, not for ${trust.org}` };
  if (domain !== cert.org) return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: address is not in ${cert.org}` };
  if (userIdOf(cert.address) !== cert.userId) return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: user id is not the hash of the address` };
  if (!verifyUserCertSignature(cert, trust.caPublicKey))
    return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `${who}: certificate does not verify against the CA of ${trust.org}` };
  if (nowMs < cert.issuedAtMs || nowMs >= cert.expiresAtMs)
    return { ok: false, code: ErrorCodes.CERT_EXPIRED, reason: `${who}: certificate is not valid now (expired or not yet valid)` };
  return { ok: true };
}

/** A member (node or user) of the ring `trust` describes, with its id and signing key when valid. */
export async function verifyMember(member: MemberCertificate, trust: RingTrust, nowMs: number): Promise<CertCheck & { id?: string; signingKey?: Uint8Array }> {
  const check = member.type === 'node' ? await verifyNodeCertificate(member.cert, trust, nowMs) : await verifyUserCertificate(member.cert, trust, nowMs);
  if (!check.ok) return check;
  return { ok: true, id: member.type === 'node' ? member.cert.nodeId : member.cert.userId, signingKey: member.cert.signingKey };
}
