// XML in and out of the DAV core. Parsing is fast-xml-parser's (validated first: malformed XML is a
// 400, never a guess); this module only resolves namespace prefixes into (namespace, local name)
// pairs, since a DAV property is named by both. A DOCTYPE is refused outright: no DAV client sends
// one, and entity definitions are how XML bombs are made.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const NS = {
  dav: 'DAV:',
  caldav: 'urn:ietf:params:xml:ns:caldav',
  carddav: 'urn:ietf:params:xml:ns:carddav',
  cs: 'http://calendarserver.org/ns/',
  ical: 'http://apple.com/ns/ical/',
} as const;
const PREFIX: Record<string, string> = { [NS.dav]: 'd', [NS.caldav]: 'c', [NS.carddav]: 'card', [NS.cs]: 'cs', [NS.ical]: 'ic' };

export interface XmlElement {
  readonly ns: string;
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

export class XmlError extends Error {}

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false, trimValues: true, processEntities: true });

type Raw = Record<string, unknown>;

function resolve(raw: Raw, scope: Readonly<Record<string, string>>): XmlElement | undefined {
  const tag = Object.keys(raw).find((k) => k !== ':@');
  if (tag === undefined || tag === '#text' || tag.startsWith('?')) return undefined;
  const rawAttrs = (raw[':@'] ?? {}) as Record<string, string>;
  const local: Record<string, string> = { ...scope };
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawAttrs)) {
    if (k === 'xmlns') local[''] = v;
    else if (k.startsWith('xmlns:')) local[k.slice(6)] = v;
    else attrs[k] = String(v);
  }
  const colon = tag.indexOf(':');
  const prefix = colon < 0 ? '' : tag.slice(0, colon);
  const ns = local[prefix];
  if (ns === undefined && prefix !== '') throw new XmlError(`the prefix ${prefix} of <${tag}> is not declared`);
  const kids = (raw[tag] ?? []) as Raw[];
  const children: XmlElement[] = [];
  let text = '';
  for (const kid of kids) {
    if ('#text' in kid) text += String(kid['#text']);
    else {
      const el = resolve(kid, local);
      if (el) children.push(el);
    }
  }
  return { ns: ns ?? '', name: colon < 0 ? tag : tag.slice(colon + 1), attrs, children, text };
}

/** The document's root element, namespaces resolved; XmlError on anything malformed. */
export function parseXml(text: string): XmlElement {
  if (/<!DOCTYPE/i.test(text)) throw new XmlError('a DOCTYPE is not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlError(`malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  const roots = (parser.parse(text) as Raw[]).map((r) => resolve(r, {})).filter((e): e is XmlElement => e !== undefined);
  if (roots.length !== 1) throw new XmlError('the document has no single root element');
  return roots[0]!;
}

export const child = (el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined => el?.children.find((c) => c.ns === ns && c.name === name);
export const is = (el: XmlElement, ns: string, name: string): boolean => el.ns === ns && el.name === name;

export const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A property's element, with its namespace's fixed prefix or an inline declaration for any other. */
export function element(ns: string, name: string, inner?: string): string {
  const prefix = PREFIX[ns];
  const open = prefix ? `${prefix}:${name}` : `x:${name} xmlns:x="${escapeXml(ns)}"`;
  const close = prefix ? `${prefix}:${name}` : `x:${name}`;
  return inner === undefined || inner === '' ? `<${open}/>` : `<${open}>${inner}</${close}>`;
}

export const multistatus = (inner: string): string =>
  `<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus xmlns:d="DAV:" xmlns:c="${NS.caldav}" xmlns:card="${NS.carddav}" xmlns:cs="${NS.cs}" xmlns:ic="${NS.ical}">${inner}</d:multistatus>\n`;

/** A DAV:error body naming the precondition that failed (RFC 4918 16). */
export const errorBody = (ns: string, condition: string): string => `<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:c="${NS.caldav}" xmlns:card="${NS.carddav}">${element(ns, condition)}</d:error>\n`;
