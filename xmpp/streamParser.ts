// The XML of one XMPP stream (RFC 6120 section 4, 11), parsed by saxes (a maintained, strict streaming
// parser; we do not parse XML ourselves): the stream header, each top-level element as one stanza
// tree, and the stream's end. Restricted XML (section 11.1) is enforced: no DTD, no processing
// instruction, no comment, no entity but the five predefined; so are our bounds (protocol/limits.ts):
// a stanza's bytes, its depth, an element's attributes. The first violation is reported as the stream
// error to close with; after it the parser reports nothing more.
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { XMPP_ATTRIBUTES_MAX, XMPP_ELEMENT_DEPTH_MAX, XMPP_STANZA_BYTES_MAX, XMPP_STREAM_HEADER_BYTES_MAX } from '../protocol/limits';
import { XmlElement } from './xml';

export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_CLIENT = 'jabber:client';
const NS_XMLNS = 'http://www.w3.org/2000/xmlns/';

/** RFC 6120 4.9.3: the stream error conditions this server sends. */
export type StreamErrorCondition =
  | 'bad-format'
  | 'bad-namespace-prefix'
  | 'conflict'
  | 'connection-timeout'
  | 'host-unknown'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'resource-constraint'
  | 'restricted-xml'
  | 'system-shutdown'
  | 'undefined-condition'
  | 'unsupported-encoding'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

export type StreamEvent =
  | { readonly kind: 'open'; readonly attrs: Readonly<Record<string, string>> }
  | { readonly kind: 'stanza'; readonly element: XmlElement }
  | { readonly kind: 'close' }
  | { readonly kind: 'error'; readonly condition: StreamErrorCondition; readonly text: string };

export interface StreamParserLimits {
  readonly stanzaBytesMax: number;
  readonly depthMax: number;
  readonly attributesMax: number;
  readonly headerBytesMax: number;
}

export const DEFAULT_STREAM_LIMITS: StreamParserLimits = {
  stanzaBytesMax: XMPP_STANZA_BYTES_MAX,
  depthMax: XMPP_ELEMENT_DEPTH_MAX,
  attributesMax: XMPP_ATTRIBUTES_MAX,
  headerBytesMax: XMPP_STREAM_HEADER_BYTES_MAX,
};

/** Input is handed to saxes in slices this big, so a bound is noticed within one slice of being crossed. */
const SLICE_BYTES = 8 * 1024;

export class StreamParser {
  private readonly sax = new SaxesParser({ xmlns: true });
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly stack: XmlElement[] = [];
  private events: StreamEvent[] = [];
  private opened = false;
  private failed = false;
  /** Bytes since the last stanza ended (or since the start, before the header). */
  private pendingBytes = 0;
  private stanzaEnded = false;

  constructor(private readonly limits: StreamParserLimits = DEFAULT_STREAM_LIMITS) {
    this.sax.on('opentag', (tag) => this.openTag(tag));
    this.sax.on('closetag', () => this.closeTag());
    this.sax.on('text', (text) => this.text(text));
    this.sax.on('cdata', (text) => this.text(text));
    this.sax.on('error', (e) => this.fail(/prefix/.test(e.message) ? 'bad-namespace-prefix' : 'not-well-formed', e.message));
    this.sax.on('doctype', () => this.fail('restricted-xml', 'a DTD is not allowed in XMPP'));
    this.sax.on('processinginstruction', () => this.fail('restricted-xml', 'processing instructions are not allowed in XMPP'));
    this.sax.on('comment', () => this.fail('restricted-xml', 'comments are not allowed in XMPP'));
  }

  get isFailed(): boolean {
    return this.failed;
  }

  /** Parse the next bytes of the stream; returns what they completed, in order. */
  feed(bytes: Uint8Array): StreamEvent[] {
    this.events = [];
    for (let at = 0; at < bytes.length && !this.failed; at += SLICE_BYTES) {
      const slice = bytes.subarray(at, at + SLICE_BYTES);
      let text: string;
      try {
        text = this.decoder.decode(slice, { stream: true });
      } catch {
        this.fail('not-well-formed', 'the stream is not valid UTF-8');
        break;
      }
      this.pendingBytes += slice.length;
      this.stanzaEnded = false;
      this.sax.write(text);
      if (this.stanzaEnded) this.pendingBytes = 0;
      this.checkSize();
    }
    return this.events;
  }

  private checkSize(): void {
    if (this.failed) return;
    if (!this.opened && this.pendingBytes > this.limits.headerBytesMax) this.fail('policy-violation', `the stream header is over ${this.limits.headerBytesMax} bytes`);
    else if (this.stack.length > 0 && this.pendingBytes > this.limits.stanzaBytesMax) this.fail('policy-violation', `a stanza is over ${this.limits.stanzaBytesMax} bytes`);
  }

  private fail(condition: StreamErrorCondition, text: string): void {
    if (this.failed) return;
    this.failed = true;
    this.events.push({ kind: 'error', condition, text });
  }

  private openTag(tag: SaxesTagNS): void {
    if (this.failed) return;
    if (!this.opened) return this.openStream(tag);
    if (this.stack.length >= this.limits.depthMax) return this.fail('policy-violation', `elements nest deeper than ${this.limits.depthMax}`);
    const attributes = Object.values(tag.attributes);
    if (attributes.length > this.limits.attributesMax) return this.fail('policy-violation', `an element has more than ${this.limits.attributesMax} attributes`);
    const attrs: Record<string, string> = {};
    // Attributes in other namespaces are dropped: their prefix declarations are not kept, and a stanza
    // passed on (a carbon, a presence) must not carry an unbound prefix to another client.
    for (const a of attributes) if (a.prefix === '' || a.prefix === 'xml') attrs[a.name] = a.value;
    attrs.xmlns = tag.uri;
    const element = new XmlElement(tag.local, attrs);
    this.stack.at(-1)?.children.push(element);
    this.stack.push(element);
  }

  private openStream(tag: SaxesTagNS): void {
    if (tag.local !== 'stream' || tag.uri !== NS_STREAM) return this.fail('invalid-namespace', `the stream must open with <stream:stream> in ${NS_STREAM}`);
    const declaredDefault = tag.ns[''] ?? tag.attributes.xmlns?.value;
    if (declaredDefault !== NS_CLIENT) return this.fail('invalid-namespace', `the stream's default namespace must be ${NS_CLIENT}`);
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) if (a.uri !== NS_XMLNS) attrs[a.name] = a.value;
    this.opened = true;
    this.pendingBytes = 0;
    this.events.push({ kind: 'open', attrs });
  }

  private closeTag(): void {
    if (this.failed) return;
    const element = this.stack.pop();
    if (!element) {
      this.events.push({ kind: 'close' });
      return;
    }
    if (this.stack.length === 0) {
      this.stanzaEnded = true;
      this.events.push({ kind: 'stanza', element });
    }
  }

  private text(text: string): void {
    if (this.failed) return;
    // Whitespace between stanzas is a keepalive; text inside a stanza belongs to its element.
    this.stack.at(-1)?.children.push(text);
  }
}
