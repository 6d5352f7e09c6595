// Another organisation's ring read through the gateways (actors/federation/federation.ts): an object is
// absent only when that ring says NOT_FOUND. Any other failure is an error, so that a directory lookup
// behind a failing gateway says "try again" rather than "no such user" (a permanent 550 for a real one).
import { describe, expect, test } from 'vitest';
import { Federation } from '../../../actors/federation/federation';
import type { RingTrust } from '../../../crypto/certificates';
import { SimClock } from '../../../infra/sim/clock';
import { SimNetwork } from '../../../infra/sim/network';
import { SimRandom } from '../../../infra/sim/random';
import { GatewayReply, GatewayRequest } from '../../../protocol/gateway';
import { subjects } from '../../../protocol/subjects';
import { encodeSignedObject } from '../../../storage/signedObjectCodec';
import type { SignedObject } from '../../../storage/signedObject';
import { memoryLog } from '../imap/testLog';

const trust = (org: string, fill: string): RingTrust => ({ org, ringId: fill.repeat(64), caPublicKey: new Uint8Array(32) });
const own = trust('b.example', 'b');
const other = trust('a.example', 'a');
const objectId = 'c'.repeat(64);

type Reply = Parameters<typeof GatewayReply.encode>[0];

/** A node of `own` whose gateways answer every request with `reply`; the object read from `other`'s ring. */
async function readThrough(reply: Reply) {
  const clock = new SimClock();
  const network = new SimNetwork({ clock, random: new SimRandom('federation').fork('network') });
  const node = network.connect('node');
  const gateway = network.connect('gateway');
  const asked: string[] = [];
  gateway.subscribe(subjects.gateway(own.ringId), (m) => {
    const r = GatewayRequest.decode(m.data);
    if (r.ok) asked.push(r.body.request.type);
    if (m.reply) void gateway.publish(m.reply, GatewayReply.encode(reply));
  });
  const federation = new Federation({ transport: node, log: memoryLog(), own, federated: [other] });
  let outcome: { value?: SignedObject; error?: { code?: string; message: string } } | undefined;
  federation
    .storageOf(other)
    .getObject(objectId)
    .then(
      (value) => (outcome = { value }),
      (e: Error & { code?: string }) => (outcome = { error: { code: e.code, message: e.message } }),
    );
  await clock.runUntil(() => outcome !== undefined, { maxMs: 60_000 });
  await Promise.all([node.close(), gateway.close()]);
  return { outcome: outcome!, asked };
}

/** A well-formed version (the signature is not checked on this path: the reader checks it). */
const object = (id: string): SignedObject => ({ objectId: id, owner: new Uint8Array(32), name: 'user:x@a.example', seq: 1, prev: new Uint8Array(32), payload: new Uint8Array([1]), signature: new Uint8Array(64) });

describe('reading another organisation’s objects through the gateways', () => {
  test('NOT_FOUND from that ring: no such object', async () => {
    const { outcome, asked } = await readThrough({ ok: false, code: 'NOT_FOUND', message: 'no such object' });
    expect(outcome).toEqual({ value: undefined });
    expect(asked).toEqual(['objectGet']);
  });

  test('any other refusal is an error with its code, not "no such object"', async () => {
    const { outcome } = await readThrough({ ok: false, code: 'NOT_AUTHORISED', message: 'b.example does not federate with that organisation' });
    expect(outcome.error).toEqual({ code: 'NOT_AUTHORISED', message: 'b.example does not federate with that organisation' });
  });

  test('an answer without the object, or with another one, is an error', async () => {
    expect((await readThrough({ ok: true })).outcome.error?.code).toBe('UNAVAILABLE');
    const wrong = await readThrough({ ok: true, data: encodeSignedObject(object('d'.repeat(64))) });
    expect(wrong.outcome.error).toMatchObject({ code: 'BAD_FRAME', message: expect.stringMatching(/answered for object cccccccc.* with another object/) });
  });
});
