// Records of the conversation store as the stanzas a client receives: a message that arrived (with
// its stanza-id, XEP-0359, and when it waited for the client, its delay, XEP-0203), and a message the
// user sent from elsewhere (another node, `post message send`) as a sent carbon (XEP-0280).
import type { ChatRecord } from './ports';
import { isoTime, NS } from './stanzas';
import { NS_CLIENT } from './streamParser';
import { el, type XmlElement } from './xml';

export function incomingChat(r: ChatRecord, toFull: string, opts: { bare: string; domain: string; delayed: boolean }): XmlElement {
  return el(
    'message',
    { xmlns: NS_CLIENT, type: 'chat', id: r.key, from: r.from, to: toFull },
    el('body', {}, r.text),
    el('stanza-id', { xmlns: NS.stanzaId, by: opts.bare, id: r.key }),
    opts.delayed && el('delay', { xmlns: NS.delay, from: opts.domain, stamp: isoTime(r.sentAtMs) }),
  );
}

export function sentCarbon(r: ChatRecord, toFull: string, bare: string): XmlElement {
  return el(
    'message',
    { xmlns: NS_CLIENT, type: 'chat', from: bare, to: toFull },
    el('sent', { xmlns: NS.carbons }, el('forwarded', { xmlns: NS.forward }, el('message', { xmlns: NS_CLIENT, type: 'chat', id: r.key, from: bare, to: r.to[0] }, el('body', {}, r.text)))),
  );
}
