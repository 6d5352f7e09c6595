// Live pushes held for the event-loop turn: one frame per inbox (at most NOTIFY_PUSH_ENTRIES_MAX
// entries), one alone as a plain push, nothing before the turn's I/O has run.
import { describe, expect, test } from 'vitest';
import { PushOutbox } from '../../../actors/notify/pushOutbox';
import { createCertificateAuthority, issueUserCertificate } from '../../../crypto/certificates';
import { dropIdOf, entryIdOf, envelopeNonce, sealTo, signEnvelope } from '../../../crypto/notification';
import { signingKeyPairFromSeed } from '../../../crypto/sign';
import { CryptoRandom } from '../../../infra/random';
import { SimClock } from '../../../infra/sim/clock';
import { decodeFrame } from '../../../protocol/frame';
import { NOTIFY_PUSH_ENTRIES_MAX } from '../../../protocol/limits';
import { type Envelope, InboxPush, InboxPushes } from '../../../protocol/notify';

const NOW_MS = 1_800_000_000_000;

async function people() {
  const random = new CryptoRandom();
  const ca = await createCertificateAuthority('push.example', random.bytes(32));
  const cert = async (address: string) => {
    const keys = await signingKeyPairFromSeed(random.bytes(32));
    return { keys, cert: await issueUserCertificate(ca, { address, signingKey: keys.publicKey, boxKey: random.bytes(32) }, { nowMs: NOW_MS }) };
  };
  const [alice, bob, carol] = [await cert('alice@push.example'), await cert('bob@push.example'), await cert('carol@push.example')];
  const envelope = async (to: typeof bob): Promise<Envelope> => {
    const fields = { toUserId: to.cert.userId, to: to.cert.address, from: alice.cert.address, timeMs: NOW_MS, nonce: envelopeNonce(random), sealed: sealTo(to.cert.boxKey, new Uint8Array([1])) };
    return { ...fields, fromCert: alice.cert, signature: await signEnvelope(fields, alice.keys.secretKey) };
  };
  return { bob, carol, envelope };
}

/** What was published, decoded: per frame its subject, kind and entry ids. */
function recorder() {
  const frames: { subject: string; kind: string; entryIds: string[] }[] = [];
  // Deferred work runs when the test ends the turn: the simulated clock's timers due now.
  const clock = new SimClock(NOW_MS);
  const endTurn = () => clock.runFor(0);
  const outbox = new PushOutbox(clock, (subject, bytes) => {
    const d = decodeFrame(bytes);
    if (!d.ok) throw new Error(d.reason);
    const body = d.frame.body as { entryId?: string; entries?: { entryId: string }[] };
    frames.push({ subject, kind: d.frame.kind, entryIds: body.entries ? body.entries.map((e) => e.entryId) : [body.entryId!] });
  });
  return { frames, outbox, endTurn };
}

describe('PushOutbox', () => {
  test('pushes of one turn to one inbox leave as one frame, in order; another inbox gets its own; one alone is a plain push', async () => {
    const { bob, carol, envelope } = await people();
    const { frames, outbox, endTurn } = recorder();
    const toBob = [await envelope(bob), await envelope(bob), await envelope(bob)];
    const toCarol = await envelope(carol);
    for (const e of toBob) outbox.push('inbox.bob', dropIdOf(bob.cert.userId), { entryId: entryIdOf(e.signature), envelope: e });
    outbox.push('inbox.carol', dropIdOf(carol.cert.userId), { entryId: entryIdOf(toCarol.signature), envelope: toCarol });
    expect(frames).toEqual([]);
    await endTurn();
    expect(frames).toEqual([
      { subject: 'inbox.bob', kind: InboxPushes.kind, entryIds: toBob.map((e) => entryIdOf(e.signature)) },
      { subject: 'inbox.carol', kind: InboxPush.kind, entryIds: [entryIdOf(toCarol.signature)] },
    ]);
    // A later turn's push is a frame of its own.
    outbox.push('inbox.bob', dropIdOf(bob.cert.userId), { entryId: entryIdOf(toBob[0]!.signature), envelope: toBob[0]! });
    await endTurn();
    expect(frames.slice(2)).toEqual([{ subject: 'inbox.bob', kind: InboxPush.kind, entryIds: [entryIdOf(toBob[0]!.signature)] }]);
  });

  test('more than NOTIFY_PUSH_ENTRIES_MAX in a turn are cut into frames of at most that many, none lost', async () => {
    const { bob, envelope } = await people();
    const { frames, outbox, endTurn } = recorder();
    const sent: string[] = [];
    for (let i = 0; i < NOTIFY_PUSH_ENTRIES_MAX + 1; i++) {
      const e = await envelope(bob);
      sent.push(entryIdOf(e.signature));
      outbox.push('inbox.bob', dropIdOf(bob.cert.userId), { entryId: sent[i]!, envelope: e });
    }
    await endTurn();
    expect(frames.map((f) => [f.kind, f.entryIds.length])).toEqual([
      [InboxPushes.kind, NOTIFY_PUSH_ENTRIES_MAX],
      [InboxPush.kind, 1],
    ]);
    expect(frames.flatMap((f) => f.entryIds)).toEqual(sent);
  });
});
