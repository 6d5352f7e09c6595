import { describe, expect, test } from 'vitest';
import type { RosterItem } from '../../../storage/xmpp/rosterModel';
import { inbound, outbound } from '../../../storage/xmpp/subscriptions';

const BOB = 'bob@lab.example';

describe('presence subscriptions (RFC 6121 3) as roster transitions', () => {
  test('a full handshake both ways ends in both, on each side', () => {
    // Alice asks Bob.
    const aliceAsks = outbound(undefined, BOB, 'subscribe');
    expect(aliceAsks).toMatchObject({ send: true, item: { subscription: 'none', ask: 'subscribe' } });
    const bobGets = inbound(undefined, 'alice@lab.example', 'subscribe');
    expect(bobGets).toMatchObject({ deliver: true, item: { subscription: 'none', pendingIn: 'subscribe' } });
    // Bob approves: from, the request cleared.
    const bobApproves = outbound(bobGets.item, 'alice@lab.example', 'subscribed');
    expect(bobApproves.item).toEqual({ jid: 'alice@lab.example', groups: [], subscription: 'from' });
    const aliceGets = inbound(aliceAsks.item, BOB, 'subscribed');
    expect(aliceGets.item).toEqual({ jid: BOB, groups: [], subscription: 'to' });
    // Bob asks back; Alice's side, already 'to', records the request; approving makes both.
    const aliceGetsAsk = inbound(aliceGets.item, BOB, 'subscribe');
    expect(outbound(aliceGetsAsk.item, BOB, 'subscribed').item).toEqual({ jid: BOB, groups: [], subscription: 'both' });
    const bobAsks = outbound(bobApproves.item, 'alice@lab.example', 'subscribe');
    expect(inbound(bobAsks.item, 'alice@lab.example', 'subscribed').item).toEqual({ jid: 'alice@lab.example', groups: [], subscription: 'both' });
  });

  test('a request from a contact already subscribed is answered at once and not shown; unsolicited answers change nothing', () => {
    const from: RosterItem = { jid: BOB, groups: [], subscription: 'from' };
    expect(inbound(from, BOB, 'subscribe')).toEqual({ deliver: false, answer: 'subscribed' });
    expect(inbound(undefined, BOB, 'subscribed')).toEqual({ deliver: false });
    expect(inbound(undefined, BOB, 'unsubscribed')).toEqual({ deliver: false });
    expect(outbound(undefined, BOB, 'subscribed')).toEqual({ send: false });
  });

  test('unsubscribe and unsubscribed take away one direction each', () => {
    const both: RosterItem = { jid: BOB, groups: ['Friends'], subscription: 'both' };
    expect(outbound(both, BOB, 'unsubscribe').item?.subscription).toBe('from');
    expect(outbound(both, BOB, 'unsubscribed').item?.subscription).toBe('to');
    expect(inbound(both, BOB, 'unsubscribe').item?.subscription).toBe('to');
    expect(inbound(both, BOB, 'unsubscribed').item).toEqual({ jid: BOB, groups: ['Friends'], subscription: 'from' });
  });
});
