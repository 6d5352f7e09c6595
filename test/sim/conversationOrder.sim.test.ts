// Per-conversation order (issue 17; storage/messages/conversationOrder.ts) on the simulator, through
// the real notifier, inbox and messages log: a message whose predecessor has not arrived is held
// until it does, and one whose predecessor never comes is delivered once the hold's bound passed.
import { describe, expect, test } from 'vitest';
import { SimCluster } from '../../scenarios/sim/cluster';
import { simSeed, withSeed } from './seed';
import { MESSAGE_APP, messageBodyCodec } from '../../protocol/apps';
import { canonicalBytes } from '../../protocol/frame';
import { CHAT_ORDER_HOLD_MS, NOTIFY_RETRY_MS } from '../../protocol/limits';

const texts = async (cluster: SimCluster, app: { listMessages(): Promise<{ direction: string; text: string }[]> }) =>
  (await cluster.settle(app.listMessages())).filter((m) => m.direction === 'in').map((m) => m.text);

async function twoUsers(seed: number) {
  const cluster = await SimCluster.create({ seed });
  await cluster.addNodes(6, 50);
  await cluster.runUntil(() => cluster.allReady(), 30_000);
  await cluster.runFor(3_000);
  const alice = await cluster.addUser('alice@sim.example', 'a', cluster.live()[0]!);
  const bob = await cluster.addUser('bob@sim.example', 'b', cluster.live()[3]!);
  return { cluster, alice, bob };
}

/** A numbered message from alice to bob, notified as sendMessage would, with the numbers chosen by the test. */
async function numbered(cluster: SimCluster, alice: Awaited<ReturnType<typeof twoUsers>>['alice'], text: string, seq: number, prev: number) {
  const ref = await cluster.settle(alice.store(Buffer.from(text)));
  const body = messageBodyCodec.encode({ ref, from: alice.address, to: ['bob@sim.example'], sentAtMs: Math.floor(cluster.clock.now()), seq, prev });
  await cluster.settle(alice.notify('bob@sim.example', MESSAGE_APP, canonicalBytes(body)));
}

describe('per-conversation order', () => {
  test('a message that arrives before its predecessor is held until the predecessor is in, then both are in send order', async () => {
    const { cluster, alice, bob } = await twoUsers(simSeed(61));
    await withSeed(cluster, async () => {
      await numbered(cluster, alice, 'second', 2, 1);
      await cluster.runFor(3 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual([]);
      await numbered(cluster, alice, 'first', 1, 0);
      await cluster.runFor(3 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual(['first', 'second']);
    });
    await cluster.stop();
  }, 120_000);

  test('a message whose predecessor is lost for good is delivered once the hold bound passed, once', async () => {
    const { cluster, alice, bob } = await twoUsers(simSeed(62));
    await withSeed(cluster, async () => {
      await numbered(cluster, alice, 'after a lost one', 7, 6);
      await cluster.runFor(CHAT_ORDER_HOLD_MS - 3 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual([]);
      await cluster.runFor(6 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual(['after a lost one']);
      // The chat goes on from there without waiting: the next one follows the released one.
      await numbered(cluster, alice, 'next', 8, 7);
      await cluster.runFor(3 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual(['after a lost one', 'next']);
    });
    await cluster.stop();
  }, 120_000);

  test('sendMessage numbers a conversation: what arrives is in order and each message once', async () => {
    const { cluster, alice, bob } = await twoUsers(simSeed(63));
    await withSeed(cluster, async () => {
      const sent = Array.from({ length: 6 }, (_, i) => `m${i}`);
      for (const t of sent) await cluster.settle(alice.sendMessage(['bob@sim.example'], t));
      await cluster.runFor(3 * NOTIFY_RETRY_MS);
      expect(await texts(cluster, bob)).toEqual(sent);
      const seqs = await cluster.settle(bob.listMessages());
      expect(seqs.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    });
    await cluster.stop();
  }, 120_000);
});
