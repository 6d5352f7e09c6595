import { describe, expect, test } from 'vitest';
import { createCertificateAuthority, issueNodeCertificate, issueUserCertificate, verifyNodeCertificate, verifyUserCertificate } from '../../../crypto/certificates';
import { nodeIdOf, ringIdOf } from '../../../crypto/hash';
import { signingKeyPairFromSeed, sign, verify } from '../../../crypto/sign';
import { SignatureDomain } from '../../../crypto/domains';

const seed = (n: number) => new Uint8Array(32).fill(n);
const now = 1_700_000_000_000;

describe('identity', () => {
  test('ring id is BLAKE2b-256("ring" || domain) and node id is BLAKE2b-256(signing key)', async () => {
    expect(ringIdOf('lab.example')).toMatch(/^[0-9a-f]{64}$/);
    expect(ringIdOf('lab.example')).not.toBe(ringIdOf('other.example'));
    const kp = await signingKeyPairFromSeed(seed(1));
    expect(nodeIdOf(kp.publicKey)).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a certificate issued by the ring CA verifies', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const kp = await signingKeyPairFromSeed(seed(2));
    const cert = await issueNodeCertificate(ca, kp, { nowMs: now });
    expect(await verifyNodeCertificate(cert, ca, now + 1000)).toEqual({ ok: true });
  });

  test('a certificate from another organisation CA is refused with a clear reason', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const rogue = { ...(await createCertificateAuthority('lab.example', seed(10))) };
    const kp = await signingKeyPairFromSeed(seed(2));
    const cert = await issueNodeCertificate(rogue, kp, { nowMs: now });
    const r = await verifyNodeCertificate(cert, ca, now);
    expect(r).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    if (!r.ok) expect(r.reason).toMatch(/does not verify against the CA of lab.example/);
  });

  test('a tampered, expired or foreign-ring certificate is refused', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const kp = await signingKeyPairFromSeed(seed(2));
    const cert = await issueNodeCertificate(ca, kp, { nowMs: now, validityMs: 1000 });
    const other = await signingKeyPairFromSeed(seed(3));
    expect(await verifyNodeCertificate({ ...cert, signingKey: other.publicKey }, ca, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    expect(await verifyNodeCertificate({ ...cert, expiresAtMs: cert.expiresAtMs + 1 }, ca, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    expect(await verifyNodeCertificate(cert, ca, now + 5000)).toMatchObject({ ok: false, code: 'CERT_EXPIRED' });
    const otherCa = await createCertificateAuthority('other.example', seed(9));
    expect(await verifyNodeCertificate(cert, otherCa, now)).toMatchObject({ ok: false, code: 'WRONG_RING' });
  });

  test('signatures are domain-separated', async () => {
    const kp = await signingKeyPairFromSeed(seed(4));
    const sig = await sign(SignatureDomain.nodeCertificate, ['x', 1], kp.secretKey);
    expect(await verify(SignatureDomain.nodeCertificate, ['x', 1], sig, kp.publicKey)).toBe(true);
    expect(await verify(SignatureDomain.userCertificate, ['x', 1], sig, kp.publicKey)).toBe(false);
    expect(await verify(SignatureDomain.nodeCertificate, ['x', 2], sig, kp.publicKey)).toBe(false);
  });

  test('a user certificate verified before is still checked whole: its signature on other fields, another CA or a later expiry are refused', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const kp = await signingKeyPairFromSeed(seed(5));
    const cert = await issueUserCertificate(ca, { address: 'ann@lab.example', signingKey: kp.publicKey, boxKey: new Uint8Array(32).fill(7) }, { nowMs: now, validityMs: 1000 });
    // Twice: the second answer may come from the remembered verification.
    expect(await verifyUserCertificate(cert, ca, now)).toEqual({ ok: true });
    expect(await verifyUserCertificate(cert, ca, now)).toEqual({ ok: true });
    expect(await verifyUserCertificate({ ...cert, boxKey: new Uint8Array(32).fill(8) }, ca, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    expect(await verifyUserCertificate({ ...cert, expiresAtMs: cert.expiresAtMs + 1 }, ca, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    const rogue = await createCertificateAuthority('lab.example', seed(10));
    expect(await verifyUserCertificate(cert, rogue, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    expect(await verifyUserCertificate(cert, ca, now + 5000)).toMatchObject({ ok: false, code: 'CERT_EXPIRED' });
  });
});
