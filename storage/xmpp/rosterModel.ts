// A user's XMPP roster (issue 17, RFC 6121 section 2) as a log of the user (`xmpp-roster`): the
// contacts, their names, groups and subscription states, plus how many records of the user's
// `messages` log XMPP clients have been given (`seen`), so messages that arrived while no client
// was online are delivered once on the next login (offline messages) whichever node the client uses.
//   ops  set(item) | remove(jid) | seen(count: only ever grows)
import { arr, type Infer, obj, oneOf, opt, str, tagged, uint } from '../../protocol/codec';
import { XMPP_ROSTER_GROUPS_MAX, XMPP_ROSTER_ITEMS_MAX, XMPP_ROSTER_TEXT_CHARS_MAX } from '../../protocol/limits';
import type { Applied, LogModel } from '../log/logModel';

export const ROSTER_LOG_NAME = 'xmpp-roster';

export const SUBSCRIPTIONS = ['none', 'to', 'from', 'both'] as const;
export type Subscription = (typeof SUBSCRIPTIONS)[number];

const itemCodec = obj({
  jid: str({ max: 3071 }),
  name: opt(str({ max: XMPP_ROSTER_TEXT_CHARS_MAX })),
  groups: arr(str({ max: XMPP_ROSTER_TEXT_CHARS_MAX }), { max: XMPP_ROSTER_GROUPS_MAX }),
  subscription: oneOf(SUBSCRIPTIONS),
  /** A subscription request sent and not yet answered (RFC 6121 2.1.2.2: ask='subscribe'). */
  ask: opt(oneOf(['subscribe'] as const)),
  /** A subscription request received and not yet answered (RFC 6121 3.1.3: pending in); shown again at each login. */
  pendingIn: opt(oneOf(['subscribe'] as const)),
});
export type RosterItem = Infer<typeof itemCodec>;

export interface RosterState {
  readonly items: Map<string, RosterItem>;
  seen: number;
}

export type RosterOp = { readonly type: 'set'; readonly item: RosterItem } | { readonly type: 'remove'; readonly jid: string } | { readonly type: 'seen'; readonly count: number };
export type RosterChange =
  | { readonly type: 'set' | 'remove'; readonly jid: string; readonly before: RosterItem | undefined; readonly after: RosterItem | undefined }
  | { readonly type: 'seen'; readonly before: number; readonly after: number }
  | { readonly type: 'full' | 'unchanged' };

const opCodec = tagged({ set: obj({ item: itemCodec }), remove: obj({ jid: str({ max: 3071 }) }), seen: obj({ count: uint() }) });
const stateCodec = obj({ items: arr(itemCodec, { max: XMPP_ROSTER_ITEMS_MAX }), seen: uint() });
const summaryCodec = obj({ items: uint() });

const same = (a: RosterItem, b: RosterItem): boolean => JSON.stringify(itemCodec.encode(a)) === JSON.stringify(itemCodec.encode(b));

function apply(state: RosterState, op: RosterOp): Applied<RosterChange> {
  if (op.type === 'seen') {
    if (op.count <= state.seen) return { effective: false, change: { type: 'unchanged' } };
    const change = { type: 'seen' as const, before: state.seen, after: op.count };
    state.seen = op.count;
    return { effective: true, change };
  }
  const jid = op.type === 'set' ? op.item.jid : op.jid;
  const before = state.items.get(jid);
  if (op.type === 'remove') {
    if (!before) return { effective: false, change: { type: 'unchanged' } };
    state.items.delete(jid);
    return { effective: true, change: { type: 'remove', jid, before, after: undefined } };
  }
  if (before && same(before, op.item)) return { effective: false, change: { type: 'unchanged' } };
  if (!before && state.items.size >= XMPP_ROSTER_ITEMS_MAX) return { effective: false, change: { type: 'full' } };
  state.items.set(jid, op.item);
  return { effective: true, change: { type: 'set', jid, before, after: op.item } };
}

function revert(state: RosterState, change: RosterChange): void {
  if (change.type === 'seen') state.seen = change.before;
  else if (change.type === 'set' || change.type === 'remove') {
    if (change.before) state.items.set(change.jid, change.before);
    else state.items.delete(change.jid);
  }
}

export const rosterModel: LogModel<RosterState, RosterOp, RosterChange, { items: number }> = {
  kind: 'xmpp-roster',
  initial: () => ({ items: new Map(), seen: 0 }),
  apply,
  revert,
  // A fork's lost branch: contacts the winner does not have come back; the seen count takes the larger.
  recover: (lost, winner) => [
    ...[...lost.items.values()].filter((i) => !winner.items.has(i.jid)).map((item) => ({ type: 'set' as const, item })),
    ...(lost.seen > winner.seen ? [{ type: 'seen' as const, count: lost.seen }] : []),
  ],
  summarize: (s) => ({ items: s.items.size }),
  encodeOp: (op) => opCodec.encode(op),
  decodeOp: (wire) => opCodec.decode(wire, 'rosterOp') as RosterOp,
  encodeState: (s) => stateCodec.encode({ items: [...s.items.values()], seen: s.seen }),
  decodeState(wire) {
    const s = stateCodec.decode(wire, 'rosterState');
    return { items: new Map(s.items.map((i) => [i.jid, i])), seen: s.seen };
  },
  encodeSummary: (s) => summaryCodec.encode(s),
  decodeSummary: (w) => summaryCodec.decode(w, 'rosterSummary'),
};
