// Issue 12: the signatures and MACs that authenticate control requests and overlay frames, and the
// replay windows behind them.
import { describe, expect, test } from 'vitest';
import { createCertificateAuthority, issueOperatorCertificate, operatorIdOf, verifyOperatorCertificate } from '../../../crypto/certificates';
import { signControl, verifyControlSignature, verifyControlUser } from '../../../crypto/controlAuth';
import { nodeIdOf } from '../../../crypto/hash';
import { channelKeyOf, channelSecretOf, overlayMac, overlayMacMatches, signOverlay, verifyOverlay } from '../../../crypto/overlayAuth';
import { NonceWindow, StampWindow } from '../../../crypto/replay';
import { signingKeyPairFromSeed } from '../../../crypto/sign';

const seed = (n: number) => new Uint8Array(32).fill(n);
const now = 1_700_000_000_000;
const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

describe('operator certificates', () => {
  test('a certificate from the CA verifies; altered roles, another CA, another ring or expiry are refused', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const kp = await signingKeyPairFromSeed(seed(1));
    const cert = await issueOperatorCertificate(ca, { name: 'ops', signingKey: kp.publicKey, roles: ['store'] }, { nowMs: now, validityMs: 1000 });
    expect(verifyOperatorCertificate(cert, ca, now)).toEqual({ ok: true });
    expect(verifyOperatorCertificate({ ...cert, roles: ['store', 'admin'] }, ca, now)).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    const rogue = await createCertificateAuthority('lab.example', seed(10));
    const forged = await issueOperatorCertificate(rogue, { name: 'ops', signingKey: kp.publicKey, roles: ['admin'] }, { nowMs: now });
    const r = verifyOperatorCertificate(forged, ca, now);
    expect(r).toMatchObject({ ok: false, code: 'CERT_INVALID' });
    if (!r.ok) expect(r.reason).toMatch(/does not verify against the CA of lab\.example/);
    expect(verifyOperatorCertificate(cert, await createCertificateAuthority('other.example', seed(9)), now)).toMatchObject({ ok: false, code: 'WRONG_RING' });
    expect(verifyOperatorCertificate(cert, ca, now + 1000)).toMatchObject({ ok: false, code: 'CERT_EXPIRED' });
  });

  test("an operator's id is never the id of a node with the same key (quotas stay apart)", async () => {
    const kp = await signingKeyPairFromSeed(seed(2));
    expect(operatorIdOf(kp.publicKey)).not.toBe(nodeIdOf(kp.publicKey));
  });
});

describe('control request signatures', () => {
  test('bind the node, the time, the nonce and the request; a user signature is not an operator one', async () => {
    const ca = await createCertificateAuthority('lab.example', seed(9));
    const kp = await signingKeyPairFromSeed(seed(3));
    const user = await signingKeyPairFromSeed(seed(4));
    const operator = { cert: await issueOperatorCertificate(ca, { name: 'ops', signingKey: kp.publicKey, roles: [] }, { nowMs: now }), secretKey: kp.secretKey };
    const f = { ringId: ca.ringId, nodeId: hex(1), timeMs: now, nonce: seed(5).subarray(0, 16), request: new Uint8Array([1, 2, 3]) };
    const { signature, userSignature } = signControl(f, operator, user.secretKey);
    expect(verifyControlSignature(f, signature, kp.publicKey)).toBe(true);
    expect(verifyControlUser(f, operator.cert.operatorId, userSignature!, user.publicKey)).toBe(true);
    for (const changed of [{ nodeId: hex(2) }, { timeMs: now + 1 }, { nonce: seed(6).subarray(0, 16) }, { request: new Uint8Array([1, 2, 4]) }, { ringId: hex(3) }])
      expect(verifyControlSignature({ ...f, ...changed }, signature, kp.publicKey)).toBe(false);
    // Domains apart: the user's signature does not pass as the operator's, nor the other way round.
    expect(verifyControlSignature(f, userSignature!, user.publicKey)).toBe(false);
    expect(verifyControlUser(f, operator.cert.operatorId, signature, kp.publicKey)).toBe(false);
    // A user's consent is for one operator's request.
    expect(verifyControlUser(f, hex(7), userSignature!, user.publicKey)).toBe(false);
  });
});

describe('overlay frame authentication', () => {
  test('two nodes derive the same channel key; a third derives another', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map((n) => signingKeyPairFromSeed(seed(n))));
    const ab = channelKeyOf(channelSecretOf(a!.secretKey), a!.publicKey, b!.publicKey)!;
    const ba = channelKeyOf(channelSecretOf(b!.secretKey), b!.publicKey, a!.publicKey)!;
    const cb = channelKeyOf(channelSecretOf(c!.secretKey), c!.publicKey, b!.publicKey)!;
    expect(Buffer.from(ab).equals(Buffer.from(ba))).toBe(true);
    expect(Buffer.from(ab).equals(Buffer.from(cb))).toBe(false);
    // No key can be agreed with a point that is not one.
    expect(channelKeyOf(channelSecretOf(a!.secretKey), a!.publicKey, new Uint8Array(32).fill(0xff))).toBeUndefined();
  });

  test('a MAC and a signature cover ring, sender, receiver, stamp and frame', async () => {
    const [a, b] = await Promise.all([1, 2].map((n) => signingKeyPairFromSeed(seed(n))));
    const key = channelKeyOf(channelSecretOf(a!.secretKey), a!.publicKey, b!.publicKey)!;
    const f = { ringId: hex(9), from: hex(1), to: hex(2) as string | undefined, stampUs: now * 1000, frame: new Uint8Array([7, 7, 7]) };
    const mac = overlayMac(key, f);
    const sig = signOverlay(a!.secretKey, f);
    expect(overlayMacMatches(key, f, mac)).toBe(true);
    expect(verifyOverlay(a!.publicKey, f, sig)).toBe(true);
    const changes = [{ ringId: hex(8) }, { from: hex(2), to: hex(1) }, { to: hex(3) }, { to: undefined }, { stampUs: now * 1000 + 1 }, { frame: new Uint8Array([7, 7, 8]) }];
    for (const c of changes) {
      expect(overlayMacMatches(key, { ...f, ...c }, mac)).toBe(false);
      expect(verifyOverlay(a!.publicKey, { ...f, ...c }, sig)).toBe(false);
    }
    expect(verifyOverlay(b!.publicKey, f, sig)).toBe(false);
  });
});

describe('replay windows', () => {
  const window = () => new StampWindow({ skewUs: 30e6, reorderUs: 2e6, sendersMax: 2, perSenderMax: 8 });

  test('a stamp is taken once; a little out of order is fine, older than the reorder window is not', () => {
    const w = window();
    const t = now * 1000;
    expect(w.accept('a', t)).toBe('ok');
    expect(w.accept('a', t)).toBe('replayed');
    expect(w.accept('a', t + 5e6)).toBe('ok');
    expect(w.accept('a', t + 4e6)).toBe('ok');
    expect(w.accept('a', t + 4e6)).toBe('replayed');
    expect(w.accept('a', t + 2e6)).toBe('replayed');
    // Senders apart.
    expect(w.accept('b', t)).toBe('ok');
  });

  test('freshness is judged against the clock; memory stays bounded per sender and in senders', () => {
    const w = window();
    const t = now * 1000;
    expect(w.fresh(t - 31e6, t)).toBe(false);
    expect(w.fresh(t + 29e6, t)).toBe(true);
    for (let i = 0; i < 100; i++) expect(w.accept('a', t + i)).toBe('ok');
    // Over the bound, the floor rises: the oldest stamps are refused, the newest still taken once.
    expect(w.accept('a', t)).toBe('replayed');
    expect(w.accept('a', t + 99)).toBe('replayed');
    expect(w.accept('a', t + 100)).toBe('ok');
    w.accept('b', t);
    w.accept('c', t); // forgets 'a', the oldest sender
    expect(w.accept('a', t + 50)).toBe('ok');
  });

  test('a control nonce is taken once inside the window; outside it the request is stale', () => {
    const w = new NonceWindow({ skewMs: 60_000, max: 2 });
    expect(w.check('n1', now, now)).toBe('ok');
    expect(w.check('n1', now, now + 1000)).toBe('replayed');
    expect(w.check('n2', now - 61_000, now)).toBe('stale');
    expect(w.check('n2', now + 61_000, now)).toBe('stale');
    expect(w.check('n2', now, now)).toBe('ok');
    expect(w.check('n3', now, now)).toBe('full');
    // Once the first requests have left the window, their nonces are forgotten and room is made.
    expect(w.check('n3', now + 61_000, now + 61_000)).toBe('ok');
  });
});
