// Replies the XMPP core builds: stream headers and errors (RFC 6120 4.9), stanza errors (8.3), and
// the namespaces they use.
import { NS_CLIENT, NS_STREAM, type StreamErrorCondition } from './streamParser';
import { el, openTag, type XmlElement } from './xml';

export const NS = {
  tls: 'urn:ietf:params:xml:ns:xmpp-tls',
  sasl: 'urn:ietf:params:xml:ns:xmpp-sasl',
  bind: 'urn:ietf:params:xml:ns:xmpp-bind',
  session: 'urn:ietf:params:xml:ns:xmpp-session',
  streams: 'urn:ietf:params:xml:ns:xmpp-streams',
  stanzas: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  roster: 'jabber:iq:roster',
  discoInfo: 'http://jabber.org/protocol/disco#info',
  discoItems: 'http://jabber.org/protocol/disco#items',
  ping: 'urn:xmpp:ping',
  carbons: 'urn:xmpp:carbons:2',
  forward: 'urn:xmpp:forward:0',
  delay: 'urn:xmpp:delay',
  mam: 'urn:xmpp:mam:2',
  rsm: 'http://jabber.org/protocol/rsm',
  dataForms: 'jabber:x:data',
  stanzaId: 'urn:xmpp:sid:0',
  receipts: 'urn:xmpp:receipts',
  chatStates: 'http://jabber.org/protocol/chatstates',
  sm: 'urn:xmpp:sm:3',
} as const;

export function streamHeader(domain: string, id: string, to?: string): string {
  const attrs: Record<string, string> = { from: domain, id, version: '1.0', 'xml:lang': 'en', xmlns: NS_CLIENT, 'xmlns:stream': NS_STREAM };
  if (to) attrs.to = to;
  return `<?xml version='1.0'?>${openTag('stream:stream', attrs)}`;
}

export const STREAM_CLOSE = '</stream:stream>';

export function streamError(condition: StreamErrorCondition, text?: string): string {
  return `<stream:error>${el(condition, { xmlns: NS.streams })}${text ? el('text', { xmlns: NS.streams, 'xml:lang': 'en' }, text) : ''}</stream:error>`;
}

/** RFC 6120 8.3.3: the stanza error conditions this server sends, with their default type. */
export const STANZA_ERRORS = {
  'bad-request': 'modify',
  'conflict': 'cancel',
  'feature-not-implemented': 'cancel',
  'forbidden': 'auth',
  'item-not-found': 'cancel',
  'internal-server-error': 'cancel',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'wait',
  'recipient-unavailable': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'remote-server-not-found': 'cancel',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
} as const;
export type StanzaErrorCondition = keyof typeof STANZA_ERRORS;

/** The error reply to `stanza` (RFC 6120 8.3.1): from and to swapped, the same id, the original's children kept out. */
export function stanzaError(stanza: XmlElement, condition: StanzaErrorCondition, text?: string, from?: string): XmlElement {
  return el(
    stanza.name,
    { xmlns: NS_CLIENT, type: 'error', id: stanza.attr('id'), from: stanza.attr('to') ?? from, to: stanza.attr('from') },
    el('error', { type: STANZA_ERRORS[condition] }, el(condition, { xmlns: NS.stanzas }), text ? el('text', { xmlns: NS.stanzas, 'xml:lang': 'en' }, text) : undefined),
  );
}

export function iqResult(iq: XmlElement, ...children: XmlElement[]): XmlElement {
  return el('iq', { xmlns: NS_CLIENT, type: 'result', id: iq.attr('id'), from: iq.attr('to'), to: iq.attr('from') }, ...children);
}

export const isoTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
