// The overlay channel tells a node's own broadcast coming back (it listens where it broadcasts while
// alone) from a frame that claims to be the node's and is not.
import { describe, expect, test } from 'vitest';
import { OverlayChannel } from '../../../actors/overlayChannel';
import { createCertificateAuthority, issueNodeCertificate, verifyNodeCertificateSync } from '../../../crypto/certificates';
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { SimClock } from '../../../infra/sim/clock';
import { decodeFrame } from '../../../protocol/frame';
import { Discover, OverlayAuth, type OverlayAuthBody } from '../../../protocol/overlay';

async function channel() {
  const ca = await createCertificateAuthority('lab.example', new Uint8Array(32).fill(7));
  const clock = new SimClock(1_800_000_000_000);
  const keys = await signingKeyPairFromSeed(new Uint8Array(32).fill(9));
  const cert = await issueNodeCertificate(ca, keys, { nowMs: clock.now() });
  const ch = new OverlayChannel({ ringId: ca.ringId, cert, signingSecretKey: keys.secretKey, clock, verifyPeer: (c, n) => verifyNodeCertificateSync(c, ca, n) });
  return { ch, cert };
}

const envelope = (bytes: Uint8Array): OverlayAuthBody => {
  const f = decodeFrame(bytes);
  if (!f.ok || f.frame.kind !== OverlayAuth.kind) throw new Error('not an envelope');
  return f.frame.body as OverlayAuthBody;
};

describe('overlay channel: frames in our own name', () => {
  test('our own broadcast is an echo, not a forgery; a copy with another signature is one', async () => {
    const { ch, cert } = await channel();
    const own = envelope(ch.seal({ kind: Discover, body: { cert } }));
    expect(ch.open(own)).toMatchObject({ ok: false, reason: 'echo' });
    expect(ch.open({ ...own, signature: new Uint8Array(64).fill(1) })).toMatchObject({ ok: false, reason: 'self' });
    expect(ch.open({ ...own, to: cert.nodeId })).toMatchObject({ ok: false, reason: 'self' });
  });
});
