import { describe, expect, test } from 'vitest';
import { StreamParser, type StreamEvent } from '../../../xmpp/streamParser';
import { XmlElement } from '../../../xmpp/xml';

const HEADER = "<?xml version='1.0'?><stream:stream to='lab.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const feed = (p: StreamParser, text: string): StreamEvent[] => p.feed(Buffer.from(text, 'utf8'));
const errorOf = (events: StreamEvent[]) => events.find((e) => e.kind === 'error') as Extract<StreamEvent, { kind: 'error' }> | undefined;

describe('xmpp stream parser (saxes underneath)', () => {
  test('a header, two stanzas and the end arrive as events, whitespace keepalives ignored', () => {
    const p = new StreamParser();
    const events = [...feed(p, HEADER), ...feed(p, " <message to='bob@lab.example' type='chat'><body>a &amp; b</body></message>\n<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq></stream:stream>")];
    expect(events.map((e) => e.kind)).toEqual(['open', 'stanza', 'stanza', 'close']);
    expect((events[0] as { attrs: Record<string, string> }).attrs.to).toBe('lab.example');
    const message = (events[1] as { element: XmlElement }).element;
    expect(message.name).toBe('message');
    expect(message.xmlns).toBe('jabber:client');
    expect(message.childText('body')).toBe('a & b');
    expect((events[2] as { element: XmlElement }).element.child('query', 'jabber:iq:roster')).toBeDefined();
  });

  test('a stanza split across reads, even inside a multi-byte character, comes out whole', () => {
    const p = new StreamParser();
    feed(p, HEADER);
    const bytes = Buffer.from("<message><body>héllo ✓</body></message>", 'utf8');
    const events: StreamEvent[] = [];
    for (let i = 0; i < bytes.length; i++) events.push(...p.feed(bytes.subarray(i, i + 1)));
    expect(events).toHaveLength(1);
    expect((events[0] as { element: XmlElement }).element.childText('body')).toBe('héllo ✓');
  });

  test('malformed XML is not-well-formed; nothing is reported after the first error', () => {
    const p = new StreamParser();
    feed(p, HEADER);
    const events = feed(p, '<message><body>x</message>');
    expect(errorOf(events)?.condition).toBe('not-well-formed');
    expect(feed(p, '<iq/>')).toEqual([]);
  });

  test('a DTD, a comment, a processing instruction or an undefined entity is restricted or malformed XML', () => {
    expect(errorOf(feed(new StreamParser(), "<!DOCTYPE x [<!ENTITY a 'b'>]>" + HEADER))?.condition).toMatch(/restricted-xml|not-well-formed/);
    for (const bad of ['<!-- hi -->', '<?pi x?>']) {
      const p = new StreamParser();
      feed(p, HEADER);
      expect(errorOf(feed(p, bad))?.condition).toBe('restricted-xml');
    }
    const p = new StreamParser();
    feed(p, HEADER);
    expect(errorOf(feed(p, '<message><body>&lol;</body></message>'))?.condition).toBe('not-well-formed');
  });

  test('a wrong stream namespace or default namespace is invalid-namespace; an unbound prefix is bad-namespace-prefix', () => {
    expect(errorOf(feed(new StreamParser(), "<stream:stream xmlns='jabber:client' xmlns:stream='urn:other'>"))?.condition).toBe('invalid-namespace');
    expect(errorOf(feed(new StreamParser(), "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>"))?.condition).toBe('invalid-namespace');
    const p = new StreamParser();
    feed(p, HEADER);
    expect(errorOf(feed(p, '<x:message/>'))?.condition).toBe('bad-namespace-prefix');
  });

  test('invalid UTF-8 is not-well-formed', () => {
    const p = new StreamParser();
    feed(p, HEADER);
    expect(errorOf(p.feed(Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x3e])))?.condition).toBe('not-well-formed');
  });

  test('a stanza over the byte bound, too deep, or with too many attributes is a policy-violation', () => {
    const limits = { stanzaBytesMax: 1024, depthMax: 4, attributesMax: 3, headerBytesMax: 512 };
    const big = new StreamParser(limits);
    feed(big, HEADER);
    expect(errorOf(feed(big, `<message><body>${'x'.repeat(4000)}`))?.condition).toBe('policy-violation');
    // Many small stanzas are fine: the bound is per stanza.
    const many = new StreamParser(limits);
    feed(many, HEADER);
    expect(errorOf(feed(many, '<presence/>'.repeat(500)))).toBeUndefined();
    const deep = new StreamParser(limits);
    feed(deep, HEADER);
    expect(errorOf(feed(deep, '<a><b><c><d><e/></d></c></b></a>'))?.condition).toBe('policy-violation');
    const wide = new StreamParser(limits);
    feed(wide, HEADER);
    expect(errorOf(feed(wide, "<a w='1' x='2' y='3' z='4'/>"))?.condition).toBe('policy-violation');
    expect(errorOf(feed(new StreamParser(limits), `<stream:stream ${'a'.repeat(2000)}`))?.condition).toBe('policy-violation');
  });
});

describe('xmpp stream parser: what it passes on', () => {
  test('attributes in foreign namespaces are dropped (their prefix would be unbound in a stanza passed on); xml:lang is kept', () => {
    const p = new StreamParser();
    feed(p, HEADER);
    const [event] = feed(p, "<message xmlns:evil='urn:evil' evil:x='1' xml:lang='fr' to='bob@lab.example'><body>salut</body></message>");
    const element = (event as { element: XmlElement }).element;
    expect(element.attrs).toEqual({ 'xml:lang': 'fr', to: 'bob@lab.example', xmlns: 'jabber:client' });
    expect(element.toString()).not.toContain('evil');
  });
});
