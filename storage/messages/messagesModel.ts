// The short-message application's log (issue 4): each user's `messages` log records messages sent
// and received, keyed so that a notification delivered twice is recorded once. The text itself is
// stored with putData (convergent); the log holds its reference.
import { arr, type Infer, obj, oneOf, opt, str, uint } from '../../protocol/codec';
import { XMPP_STORED_MESSAGE_TYPES } from '../../protocol/apps';
import { MESSAGES_LOG_ITEMS_MAX } from '../../protocol/limits';
import type { Applied, LogModel } from '../log/logModel';
import { type ConversationIndex, emptyConversationIndex, indexRecord } from './conversationOrder';

export const MESSAGES_LOG_NAME = 'messages';
/** The same model keeps the references of mail a user sent (the sender keeps the content alive). */
export const SENT_MAIL_LOG_NAME = 'sent-mail';

const recordCodec = obj({
  /** `n:<notification id>` for received messages, `s:<random>` for sent ones. */
  key: str({ max: 128 }),
  direction: oneOf(['in', 'out'] as const),
  from: str({ max: 320 }),
  to: arr(str({ max: 320 }), { max: 1000 }),
  /** The text's formatted BlockRef. */
  ref: str({ max: 512 }),
  sentAtMs: uint(),
  recordedAtMs: uint(),
  /** A message an XMPP client sent (issue 17): its id, and 1 when it asked for a delivery receipt. */
  xmppId: opt(str({ max: 256 })),
  receipt: opt(uint({ max: 1 })),
  /** Its XMPP type when not chat (normal, headline); absent: chat. */
  xmppType: opt(oneOf(XMPP_STORED_MESSAGE_TYPES)),
  /** The sender's number for it (conversationOrder.ts); absent in records older than numbering. */
  seq: opt(uint()),
});
export type MessageRecord = Infer<typeof recordCodec>;

export interface MessagesState {
  readonly byKey: Map<string, MessageRecord>;
  readonly order: string[];
  /** Highest sequence numbers per conversation, kept as records are added (derived: not stored). */
  conversations: ConversationIndex;
}

const indexOf = (byKey: Map<string, MessageRecord>, order: readonly string[]): ConversationIndex => {
  const index = emptyConversationIndex();
  for (const k of order) indexRecord(index, byKey.get(k)!);
  return index;
};

export type MessagesOp = { readonly type: 'add'; readonly record: MessageRecord };
export type MessagesChange = { readonly type: 'added' | 'duplicate' | 'full'; readonly key: string };

const opCodec = obj({ type: oneOf(['add'] as const), record: recordCodec });
const stateCodec = arr(recordCodec, { max: MESSAGES_LOG_ITEMS_MAX });
const summaryCodec = obj({ count: uint() });

export const messagesModel: LogModel<MessagesState, MessagesOp, MessagesChange, { count: number }> = {
  kind: 'messages',
  initial: () => ({ byKey: new Map(), order: [], conversations: emptyConversationIndex() }),
  apply(state, op): Applied<MessagesChange> {
    const key = op.record.key;
    if (state.byKey.has(key)) return { effective: false, change: { type: 'duplicate', key } };
    if (state.order.length >= MESSAGES_LOG_ITEMS_MAX) return { effective: false, change: { type: 'full', key } };
    state.byKey.set(key, op.record);
    state.order.push(key);
    indexRecord(state.conversations, op.record);
    return { effective: true, change: { type: 'added', key } };
  },
  revert(state, change) {
    if (change.type !== 'added') return;
    state.byKey.delete(change.key);
    const i = state.order.lastIndexOf(change.key);
    if (i >= 0) state.order.splice(i, 1);
    state.conversations = indexOf(state.byKey, state.order);
  },
  // A fork's lost branch: the records the winner does not have (the log only adds).
  recover: (lost, winner) => lost.order.filter((k) => !winner.byKey.has(k)).map((k) => ({ type: 'add', record: lost.byKey.get(k)! })),
  summarize: (state) => ({ count: state.order.length }),
  encodeOp: (op) => opCodec.encode(op),
  decodeOp: (wire) => opCodec.decode(wire, 'messagesOp') as MessagesOp,
  encodeState: (state) => stateCodec.encode(state.order.map((k) => state.byKey.get(k)!)),
  decodeState(wire) {
    const records = stateCodec.decode(wire, 'messagesState');
    const byKey = new Map(records.map((r) => [r.key, r]));
    const order = records.map((r) => r.key);
    return { byKey, order, conversations: indexOf(byKey, order) };
  },
  encodeSummary: (s) => summaryCodec.encode(s),
  decodeSummary: (w) => summaryCodec.decode(w, 'messagesSummary'),
};
