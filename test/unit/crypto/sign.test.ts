// Signatures a process made are verified from memory (crypto/sign.ts), and only the exact triple of
// bytes, signature and public key is: everything else still goes through Ed25519.
import { describe, expect, it } from 'vitest';
import { signatureCounts, signedBytes, signingKeyPairFromSeed, signSignedBytesSync, verifySignedBytesSync } from '../../../crypto/sign';
import { SignatureDomain } from '../../../crypto/domains';
import { SIGNATURES_MADE_REMEMBERED_MAX } from '../../../protocol/limits';

const keys = (n: number) => signingKeyPairFromSeed(new Uint8Array(32).fill(n));
const bytes = (text: string) => signedBytes(SignatureDomain.signedObject, [text]);

/** What one call did: verified with Ed25519, or answered from the signatures made here. */
function countsOf(run: () => boolean): { result: boolean; verified: number; known: number } {
  const before = signatureCounts();
  const result = run();
  const after = signatureCounts();
  return { result, verified: after.verified - before.verified, known: after.known - before.known };
}

describe('verifying signatures this process made', () => {
  it('answers its own fresh signature without an Ed25519 verification', async () => {
    const k = await keys(1);
    const signed = bytes('head seq 7');
    const signature = signSignedBytesSync(signed, k.secretKey);
    expect(countsOf(() => verifySignedBytesSync(signed, signature, k.publicKey))).toEqual({ result: true, verified: 0, known: 1 });
    // The same bytes arriving in another buffer (a replica's copy off the wire) are the same triple.
    expect(countsOf(() => verifySignedBytesSync(Uint8Array.from(signed), Uint8Array.from(signature), k.publicKey))).toEqual({ result: true, verified: 0, known: 1 });
  });

  it('verifies anything else with Ed25519: other bytes, another key, another signature', async () => {
    const [k, other] = [await keys(2), await keys(3)];
    const signed = bytes('head seq 8');
    const signature = signSignedBytesSync(signed, k.secretKey);
    const tampered = Uint8Array.from(signed);
    tampered[tampered.length - 1]! ^= 1;
    expect(countsOf(() => verifySignedBytesSync(tampered, signature, k.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
    expect(countsOf(() => verifySignedBytesSync(signed, signature, other.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
    const flipped = Uint8Array.from(signature);
    flipped[0]! ^= 1;
    expect(countsOf(() => verifySignedBytesSync(signed, flipped, k.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
    // A signature another process made (nothing remembered here) is verified, and verifies.
    const foreign = signSignedBytesSync(bytes('from elsewhere'), other.secretKey);
    expect(countsOf(() => verifySignedBytesSync(bytes('from elsewhere'), foreign, other.publicKey)).result).toBe(true);
  });

  it('remembers the bytes as signed, not the buffer: changing the buffer afterwards changes nothing', async () => {
    const k = await keys(4);
    const signed = Buffer.from(bytes('reused scratch buffer'));
    const signature = signSignedBytesSync(signed, k.secretKey);
    signed[signed.length - 1] ^= 1;
    expect(countsOf(() => verifySignedBytesSync(signed, signature, k.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
  });

  it('never vouches for a secret key whose second half is not its seed\'s public key', async () => {
    const [k, other] = [await keys(5), await keys(6)];
    // libsodium signs with the public key it finds in the secret key: here another key's.
    const mixed = new Uint8Array(64);
    mixed.set(k.secretKey.subarray(0, 32), 0);
    mixed.set(other.publicKey, 32);
    const signed = bytes('inconsistent key');
    const signature = signSignedBytesSync(signed, mixed);
    expect(countsOf(() => verifySignedBytesSync(signed, signature, other.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
    // A key object found consistent and then changed in place is checked again.
    const changing = Uint8Array.from(k.secretKey);
    signSignedBytesSync(bytes('before'), changing);
    changing.set(other.publicKey, 32);
    const after = signSignedBytesSync(bytes('after'), changing);
    expect(countsOf(() => verifySignedBytesSync(bytes('after'), after, other.publicKey))).toEqual({ result: false, verified: 1, known: 0 });
  });

  it('forgets the oldest once SIGNATURES_MADE_REMEMBERED_MAX are remembered', async () => {
    const k = await keys(7);
    const first = bytes('oldest');
    const firstSignature = signSignedBytesSync(first, k.secretKey);
    for (let i = 0; i < SIGNATURES_MADE_REMEMBERED_MAX; i++) signSignedBytesSync(bytes(`filler ${i}`), k.secretKey);
    expect(countsOf(() => verifySignedBytesSync(first, firstSignature, k.publicKey))).toEqual({ result: true, verified: 1, known: 0 });
    const last = bytes(`filler ${SIGNATURES_MADE_REMEMBERED_MAX - 1}`);
    expect(countsOf(() => verifySignedBytesSync(last, signSignedBytesSync(last, k.secretKey), k.publicKey))).toEqual({ result: true, verified: 0, known: 1 });
  });
});
