// The node's XMPP hub holding a session whose connection dropped (XEP-0198): the user's other
// sessions and contacts hear nothing at the drop, the session leaves (presence unavailable, its
// unacknowledged records handed back) when the hold runs out on the clock, and a resumption before
// that takes the session over with no presence change at all.
import { describe, expect, test } from 'vitest';
import { NodeXmppHub } from '../../../actors/xmpp/xmppHub';
import type { UserThread } from '../../../actors/xmpp/userThread';
import { silentLog } from '../../../infra/log';
import { SimClock } from '../../../infra/sim/clock';
import { XMPP_SM_RESUME_HOLD_MS } from '../../../protocol/limits';
import type { RoutedSession } from '../../../xmpp/ports';
import type { XmlElement } from '../../../xmpp/xml';

const ADDRESS = 'alice@lab.example';

/** What the hub tells the user's thread, recorded. */
function recordingThread() {
  const told: string[] = [];
  const thread = {
    sessions: new Set<RoutedSession>(),
    ended: (s: RoutedSession, unacked: readonly string[]) => told.push(`ended ${s.resource} [${unacked.join(',')}]`),
    presenceChanged: (s: RoutedSession) => told.push(`presence ${s.resource}`),
    replaced: (old: RoutedSession, next: RoutedSession) => told.push(`replaced ${old.resource} by ${next.resource}`),
    acked: () => undefined,
    close: () => told.push('closed'),
  };
  return { thread, told };
}

/** A bound, available session that records what it is pushed. */
function session(resource: string, hub: NodeXmppHub) {
  const pushed: string[] = [];
  const s = {
    address: ADDRESS,
    resource,
    available: true,
    carbons: false,
    holdMs: XMPP_SM_RESUME_HOLD_MS,
    unackedCount: 2,
    push: (stanza: XmlElement) => {
      pushed.push(`${stanza.name}${stanza.attr('type') ? `:${stanza.attr('type')}` : ''} from ${stanza.attr('from')}`);
      return 'unacked' as const;
    },
    expire: () => hub.unbind(s, ['rec-1', 'rec-2']),
    idle: async () => undefined,
    canResumeAt: () => true,
    handOver: () => {
      throw new Error('not here');
    },
  };
  return { s, pushed };
}

async function setUp() {
  const clock = new SimClock();
  const hub = new NodeXmppHub(silentLog, clock);
  const { thread, told } = recordingThread();
  await hub.acquire(ADDRESS, async () => thread as unknown as UserThread);
  await hub.acquire(ADDRESS, async () => thread as unknown as UserThread);
  const phone = session('phone', hub);
  const laptop = session('laptop', hub);
  thread.sessions.add(phone.s).add(laptop.s);
  hub.resumable(phone.s, 'sm-phone');
  return { clock, hub, thread, told, phone, laptop };
}

describe('xmpp hub: sessions held for resumption', () => {
  test('a drop is silent; when the hold runs out the session leaves: unavailable to the others, its records handed back, its thread released', async () => {
    const { clock, hub, told, phone, laptop } = await setUp();
    let released = 0;
    hub.hold(phone.s, () => {
      released++;
      hub.release(ADDRESS);
    });
    expect([hub.heldCount, hub.heldStanzas]).toEqual([1, 2]);
    await clock.runFor(XMPP_SM_RESUME_HOLD_MS - 1);
    expect(laptop.pushed).toEqual([]);
    expect(told).toEqual([]);
    await clock.runFor(1);
    expect(laptop.pushed).toEqual([`presence:unavailable from ${ADDRESS}/phone`]);
    expect(told).toEqual(['ended phone [rec-1,rec-2]', 'presence phone']);
    expect([released, hub.heldCount, hub.resumeTarget(ADDRESS, 'sm-phone')]).toEqual([1, 0, undefined]);
    hub.release(ADDRESS); // the laptop's connection: the last one closes the thread
    expect(told.at(-1)).toBe('closed');
  });

  test('a resumption within the hold takes the session over: no presence change, the hold\'s timer gone, the old connection\'s hold on the thread released', async () => {
    const { clock, hub, thread, told, phone, laptop } = await setUp();
    let released = 0;
    hub.hold(phone.s, () => released++);
    const back = session('phone', hub);
    hub.takeOver(phone.s, back.s);
    expect([released, hub.heldCount]).toEqual([1, 0]);
    expect([...thread.sessions]).toEqual([laptop.s, back.s]);
    expect(hub.resumeTarget(ADDRESS, 'sm-phone')).toBe(back.s);
    await clock.runFor(XMPP_SM_RESUME_HOLD_MS * 2);
    expect(laptop.pushed).toEqual([]);
    expect(told).toEqual(['replaced phone by phone']);
  });

  test('a new bind of a held session\'s resource ends the held one first (its client gave up resuming)', async () => {
    const { hub, thread, told, phone } = await setUp();
    hub.hold(phone.s, () => undefined);
    const fresh = session('phone', hub);
    expect(hub.bind(fresh.s, thread as unknown as UserThread)).toBe('ok');
    expect(told.slice(0, 1)).toEqual(['ended phone [rec-1,rec-2]']);
    expect(hub.heldCount).toBe(0);
  });
});
