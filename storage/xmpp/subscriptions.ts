// Presence subscriptions (RFC 6121 section 3) as transitions of one roster item: what the user's own
// subscription requests and answers do to their roster (outbound), and what a contact's do (inbound).
// Pure: the caller stores the item it returns and sends or delivers what it says.
import type { XmppSignalKind } from '../../protocol/apps';
import type { RosterItem, Subscription } from './rosterModel';

type SubscriptionKind = Extract<XmppSignalKind, 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed'>;
export const isSubscriptionKind = (k: string): k is SubscriptionKind => k === 'subscribe' || k === 'subscribed' || k === 'unsubscribe' || k === 'unsubscribed';

const blank = (jid: string): RosterItem => ({ jid, groups: [], subscription: 'none' });
const withTo = (s: Subscription, on: boolean): Subscription => (on ? (s === 'from' || s === 'both' ? 'both' : 'to') : s === 'both' ? 'from' : s === 'to' ? 'none' : s);
const withFrom = (s: Subscription, on: boolean): Subscription => (on ? (s === 'to' || s === 'both' ? 'both' : 'from') : s === 'both' ? 'to' : s === 'from' ? 'none' : s);

function without(item: RosterItem, key: 'ask' | 'pendingIn'): RosterItem {
  const copy = { ...item };
  delete copy[key];
  return copy;
}

/** The user sends `kind` to `jid`: the new item (undefined: no change), and whether to send it on. */
export function outbound(current: RosterItem | undefined, jid: string, kind: SubscriptionKind): { item?: RosterItem; send: boolean } {
  const item = current ?? blank(jid);
  switch (kind) {
    case 'subscribe':
      return item.subscription === 'to' || item.subscription === 'both' ? { send: false } : { item: { ...item, ask: 'subscribe' }, send: true };
    case 'unsubscribe':
      return current ? { item: without({ ...item, subscription: withTo(item.subscription, false) }, 'ask'), send: true } : { send: true };
    case 'subscribed':
      // Approving a request (or pre-approving: RFC 6121 3.4 is not kept; the contact asks again).
      if (!current?.pendingIn) return { send: false };
      return { item: without({ ...item, subscription: withFrom(item.subscription, true) }, 'pendingIn'), send: true };
    case 'unsubscribed':
      if (!current) return { send: true };
      return { item: without({ ...item, subscription: withFrom(item.subscription, false) }, 'pendingIn'), send: true };
  }
}

/** A contact's `kind` arrives: the new item (undefined: no change), whether the user's sessions see it, and an automatic answer. */
export function inbound(current: RosterItem | undefined, jid: string, kind: SubscriptionKind): { item?: RosterItem; deliver: boolean; answer?: 'subscribed' } {
  const item = current ?? blank(jid);
  switch (kind) {
    case 'subscribe':
      if (item.subscription === 'from' || item.subscription === 'both') return { deliver: false, answer: 'subscribed' };
      return { item: { ...item, pendingIn: 'subscribe' }, deliver: true };
    case 'subscribed':
      if (item.ask !== 'subscribe') return { deliver: false };
      return { item: without({ ...item, subscription: withTo(item.subscription, true) }, 'ask'), deliver: true };
    case 'unsubscribe':
      if (!current || (item.subscription !== 'from' && item.subscription !== 'both' && !item.pendingIn)) return { deliver: false };
      return { item: without({ ...item, subscription: withFrom(item.subscription, false) }, 'pendingIn'), deliver: true };
    case 'unsubscribed':
      if (!current || (item.subscription !== 'to' && item.subscription !== 'both' && !item.ask)) return { deliver: false };
      return { item: without({ ...item, subscription: withTo(item.subscription, false) }, 'ask'), deliver: true };
  }
}
