// Records of the conversation store as the stanzas a client receives: a message that arrived (with
// its stanza-id, XEP-0359, and when it waited for the client, its delay, XEP-0203), and a message the
// user sent from elsewhere (another node, `post message send`) as a sent carbon (XEP-0280).
import type { ChatRecord, ChatSignal } from './ports';
import { isoTime, NS } from './stanzas';
import { NS_CLIENT } from './streamParser';
import { el, type XmlElement } from './xml';

export function incomingChat(r: ChatRecord, toFull: string, opts: { bare: string; domain: string; delayed: boolean }): XmlElement {
  return el(
    'message',
    { xmlns: NS_CLIENT, type: r.type ?? 'chat', id: r.xmppId ?? r.key, from: r.from, to: toFull },
    el('body', {}, r.text),
    r.receipt && el('request', { xmlns: NS.receipts }),
    el('stanza-id', { xmlns: NS.stanzaId, by: opts.bare, id: r.key }),
    opts.delayed && el('delay', { xmlns: NS.delay, from: opts.domain, stamp: isoTime(r.sentAtMs) }),
  );
}

export function sentCarbon(r: ChatRecord, toFull: string, bare: string): XmlElement {
  return el(
    'message',
    { xmlns: NS_CLIENT, type: r.type ?? 'chat', from: bare, to: toFull },
    el('sent', { xmlns: NS.carbons }, el('forwarded', { xmlns: NS.forward }, el('message', { xmlns: NS_CLIENT, type: r.type ?? 'chat', id: r.xmppId ?? r.key, from: bare, to: r.to[0] }, el('body', {}, r.text)))),
  );
}

/** A receipt (XEP-0184) or chat state (XEP-0085) from `fromBare`, as the recipient's client sees it. */
export function signalMessage(signal: ChatSignal, fromBare: string, toFull: string): XmlElement {
  const payload = signal.kind === 'receipt' ? el('received', { xmlns: NS.receipts, id: signal.id }) : el(signal.state, { xmlns: NS.chatStates });
  return el('message', { xmlns: NS_CLIENT, type: 'chat', from: fromBare, to: toFull }, payload, signal.kind === 'chatstate' && el('no-store', { xmlns: 'urn:xmpp:hints' }));
}

const CHAT_STATE_NAMES = ['active', 'composing', 'paused', 'inactive', 'gone'] as const;

/** The receipt or chat state a bodyless message carries, if any. */
export function signalOf(message: XmlElement): ChatSignal | undefined {
  const received = message.child('received', NS.receipts);
  if (received?.attr('id')) return { kind: 'receipt', id: received.attr('id')! };
  const state = message.elements().find((e) => e.xmlns === NS.chatStates && (CHAT_STATE_NAMES as readonly string[]).includes(e.name));
  return state ? { kind: 'chatstate', state: state.name as (typeof CHAT_STATE_NAMES)[number] } : undefined;
}
