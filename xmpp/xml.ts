// XML elements of an XMPP stream: a small tree built by the stream parser (xmpp/streamParser.ts, over
// saxes) and by the server's replies, and its serialisation with the five predefined entities escaped.
// This is not a parser; it only holds and writes what saxes parsed.

export type XmlNode = XmlElement | string;

export class XmlElement {
  readonly children: XmlNode[] = [];

  constructor(
    readonly name: string,
    readonly attrs: Record<string, string> = {},
    children: readonly (XmlNode | undefined | false)[] = [],
  ) {
    for (const c of children) if (c !== undefined && c !== false) this.children.push(c);
  }

  get xmlns(): string | undefined {
    return this.attrs.xmlns;
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  /** The first child element called `name` (in namespace `xmlns` when given). */
  child(name: string, xmlns?: string): XmlElement | undefined {
    for (const c of this.children) if (c instanceof XmlElement && c.name === name && (xmlns === undefined || c.xmlns === xmlns)) return c;
    return undefined;
  }

  elements(): XmlElement[] {
    return this.children.filter((c): c is XmlElement => c instanceof XmlElement);
  }

  /** The concatenated text directly inside this element. */
  text(): string {
    return this.children.filter((c): c is string => typeof c === 'string').join('');
  }

  childText(name: string, xmlns?: string): string | undefined {
    return this.child(name, xmlns)?.text();
  }

  append(...nodes: (XmlNode | undefined | false)[]): this {
    for (const c of nodes) if (c !== undefined && c !== false) this.children.push(c);
    return this;
  }

  toString(): string {
    return serialize(this);
  }
}

/** `el('iq', {type: 'result'}, child, 'text')`: undefined attributes and children are left out. */
export function el(name: string, attrs: Record<string, string | undefined> = {}, ...children: (XmlNode | undefined | false)[]): XmlElement {
  const defined: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) defined[k] = v;
  return new XmlElement(name, defined, children);
}

export const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const escapeAttr = (s: string): string => escapeText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export function openTag(name: string, attrs: Record<string, string>): string {
  return `<${name}${Object.entries(attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join('')}>`;
}

export function serialize(node: XmlNode): string {
  if (typeof node === 'string') return escapeText(node);
  const open = openTag(node.name, node.attrs);
  if (node.children.length === 0) return `${open.slice(0, -1)}/>`;
  return `${open}${node.children.map(serialize).join('')}</${node.name}>`;
}
