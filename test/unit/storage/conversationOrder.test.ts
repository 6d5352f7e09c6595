// Per-conversation order, the pure part (storage/messages/conversationOrder.ts): the sender's numbers,
// the receiver's decision and its bound, and the index the messages log keeps for both.
import { describe, expect, test } from 'vitest';
import { ConversationNumbering, ConversationOrder, emptyConversationIndex } from '../../../storage/messages/conversationOrder';
import { messagesModel, type MessageRecord } from '../../../storage/messages/messagesModel';
import { CHAT_ORDER_HOLD_MS } from '../../../protocol/limits';

const rec = (key: string, direction: 'in' | 'out', from: string, to: string[], seq?: number): MessageRecord => ({ key, direction, from, to, ref: 'r', sentAtMs: 1, recordedAtMs: 1, ...(seq !== undefined ? { seq } : {}) });

describe('conversation order', () => {
  test('the sender numbers each message once, and tells each recipient the number of its previous message to them', () => {
    const n = new ConversationNumbering(emptyConversationIndex());
    expect(n.take(['b@x']).seq).toBe(1);
    const second = n.take(['c@x', 'B@x']);
    expect([second.seq, second.prevOf('b@x'), second.prevOf('c@x')]).toEqual([2, 1, 0]);
    const third = n.take(['c@x']);
    expect([third.seq, third.prevOf('c@x')]).toEqual([3, 2]);
  });

  test('the messages log keeps the highest numbers, so a restarted sender continues its count', () => {
    const state = messagesModel.initial();
    for (const r of [rec('s:1', 'out', 'a@x', ['b@x'], 4), rec('s:2', 'out', 'a@x', ['c@x'], 9), rec('n:1', 'in', 'B@x', ['a@x'], 3), rec('n:0', 'in', 'b@x', ['a@x']), rec('s:0', 'out', 'a@x', ['b@x'])])
      messagesModel.apply(state, { type: 'add', record: r });
    expect(state.conversations.lastInSeq.get('b@x')).toBe(3);
    const next = new ConversationNumbering(state.conversations).take(['b@x']);
    expect([next.seq, next.prevOf('b@x')]).toEqual([10, 4]);
    // The index is derived: a decoded state and a reverted add give it again.
    const decoded = messagesModel.decodeState(messagesModel.encodeState(state));
    expect(decoded.conversations).toEqual(state.conversations);
    const change = messagesModel.apply(state, { type: 'add', record: rec('n:2', 'in', 'b@x', ['a@x'], 8) });
    messagesModel.revert!(state, change.change);
    expect(state.conversations.lastInSeq.get('b@x')).toBe(3);
  });

  test('the receiver holds a message until its predecessor is in the log or being appended', () => {
    const o = new ConversationOrder();
    const m = (seq: number, prev: number) => ({ key: `n:${seq}`, from: 'b@x', seq, prev, sentAtMs: 1_000 });
    expect(o.decide(m(1, 0), false, 0, 1_000)).toBe('deliver');
    expect(o.decide(m(3, 2), false, 1, 1_000)).toBe('hold');
    expect(o.held).toBe(1);
    expect(o.decide(m(3, 2), false, 2, 1_500)).toBe('deliver');
    expect(o.held).toBe(0);
    // A batch: the predecessor's append is in flight, the successor may join it; not once it settled without being in.
    const appending = o.appending(m(5, 4));
    expect(o.decide(m(6, 5), false, 4, 2_000)).toBe('deliver');
    appending.settled();
    expect(o.decide(m(6, 5), false, 4, 2_000)).toBe('hold');
  });

  test('a message already recorded, or without numbers, is delivered at once (exactly-once does not wait on order)', () => {
    const o = new ConversationOrder();
    expect(o.decide({ key: 'n:9', from: 'b@x', seq: 9, prev: 8, sentAtMs: 0 }, true, 0, 0)).toBe('deliver');
    expect(o.decide({ key: 'n:1', from: 'b@x', sentAtMs: 0 }, false, 0, 0)).toBe('deliver');
  });

  test(`a hold ends CHAT_ORDER_HOLD_MS after the send or the first hold, whichever is earlier: never forever`, () => {
    const o = new ConversationOrder();
    const late = { key: 'n:7', from: 'b@x', seq: 7, prev: 6, sentAtMs: 10_000 };
    expect(o.decide(late, false, 0, 10_000)).toBe('hold');
    expect(o.decide(late, false, 0, 10_000 + CHAT_ORDER_HOLD_MS - 1)).toBe('hold');
    expect(o.decide(late, false, 0, 10_000 + CHAT_ORDER_HOLD_MS)).toBe('deliver-late');
    // A sender's clock far ahead does not stretch it: the first hold here bounds it too.
    const ahead = { key: 'n:8', from: 'b@x', seq: 8, prev: 6, sentAtMs: 10_000_000 };
    expect(o.decide(ahead, false, 0, 50_000)).toBe('hold');
    expect(o.decide(ahead, false, 0, 50_000 + CHAT_ORDER_HOLD_MS)).toBe('deliver-late');
  });
});
