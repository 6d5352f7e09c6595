// FETCH data items (RFC 3501 6.4.5, RFC 7162 3.1.4): macros, BODY[section]<partial>,
// BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516), and the CHANGEDSINCE / VANISHED modifiers.
import { failBad } from '../command';
import type { ImapToken } from '../parser';
import { tokenText } from '../schema';
import type { SectionSpec, SectionSpecifier } from './sections';

export type SimpleItem =
  | 'UID'
  | 'FLAGS'
  | 'INTERNALDATE'
  | 'RFC822.SIZE'
  | 'ENVELOPE'
  | 'BODY'
  | 'BODYSTRUCTURE'
  | 'MODSEQ'
  | 'RFC822'
  | 'RFC822.HEADER'
  | 'RFC822.TEXT';

export type FetchItem =
  | { readonly kind: 'simple'; readonly name: SimpleItem }
  | {
      readonly kind: 'section';
      /** BODY: bytes as stored; BINARY: content transfer encoding undone; SIZE: BINARY.SIZE. */
      readonly binary: 'none' | 'content' | 'size';
      readonly peek: boolean;
      readonly spec: SectionSpec;
      readonly partial: { readonly offset: number; readonly length?: number } | undefined;
      /** The item name in the response, e.g. "BODY[HEADER.FIELDS (From)]<0>". */
      readonly label: string;
    };

export interface FetchModifiers {
  readonly changedSince: number | undefined;
  readonly vanished: boolean;
}

const simpleItems = new Set<string>([
  'UID',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'ENVELOPE',
  'BODY',
  'BODYSTRUCTURE',
  'MODSEQ',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
]);

const macros: Record<string, SimpleItem[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
};

function headerName(name: string): string {
  return /^[\x21-\x7e]+$/.test(name) && !/[()"{\\\]]/.test(name) ? name : `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function parseSection(tokens: readonly ImapToken[]): { spec: SectionSpec; text: string } {
  if (tokens.length === 0) return { spec: { path: [], specifier: '', fieldNames: [] }, text: '' };
  const first = tokens[0]!;
  if (first.kind !== 'atom') failBad('section must start with a part number or section name');
  const pieces = first.value.split('.');
  const path: number[] = [];
  while (pieces.length > 0 && /^[1-9]\d{0,8}$/.test(pieces[0]!)) path.push(Number(pieces.shift()));
  const specifier = pieces.join('.').toUpperCase();
  const allowed = ['', 'HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME'];
  if (!allowed.includes(specifier)) failBad(`unknown section "${first.value}"`);
  if (specifier === 'MIME' && path.length === 0) failBad('MIME needs a part number (e.g. 1.MIME)');
  const wantsFields = specifier === 'HEADER.FIELDS' || specifier === 'HEADER.FIELDS.NOT';
  let fieldNames: string[] = [];
  if (wantsFields) {
    const list = tokens[1];
    if (tokens.length !== 2 || list?.kind !== 'list' || list.items.length === 0) failBad(`${specifier} needs a list of header field names`);
    fieldNames = list.items.map((item) => {
      const name = tokenText(item);
      if (name === undefined || name.length === 0) failBad('header field names must be strings');
      return name;
    });
  } else if (tokens.length !== 1) failBad('unexpected tokens inside section');
  const base = [...path.map(String), ...(specifier ? [specifier] : [])].join('.');
  const text = wantsFields ? `${base} (${fieldNames.map(headerName).join(' ')})` : base;
  return { spec: { path, specifier: specifier as SectionSpecifier, fieldNames }, text };
}

/** BINARY sections are part numbers only (RFC 3516 section-binary). */
function parseBinarySection(tokens: readonly ImapToken[]): { spec: SectionSpec; text: string } {
  if (tokens.length === 0) return { spec: { path: [], specifier: '', fieldNames: [] }, text: '' };
  const first = tokens[0]!;
  if (tokens.length !== 1 || first.kind !== 'atom' || !/^[1-9]\d{0,8}(\.[1-9]\d{0,8})*$/.test(first.value)) failBad('BINARY sections are part numbers, e.g. BINARY[1.2]');
  return { spec: { path: first.value.split('.').map(Number), specifier: '', fieldNames: [] }, text: first.value };
}

function parseItem(token: ImapToken, items: FetchItem[], allowMacro: boolean): void {
  if (token.kind !== 'atom') failBad('fetch items must be atoms');
  const name = token.value.toUpperCase();
  if (token.section) {
    const binary = name === 'BINARY.SIZE' ? 'size' : name.startsWith('BINARY') ? 'content' : 'none';
    const { spec, text } = binary === 'none' ? parseSection(token.section) : parseBinarySection(token.section);
    const partial = token.partial;
    if (partial && partial.length === 0) failBad('partial length must be positive');
    if (partial && binary === 'size') failBad('BINARY.SIZE takes no partial range');
    const base = binary === 'size' ? 'BINARY.SIZE' : binary === 'content' ? 'BINARY' : 'BODY';
    items.push({
      kind: 'section',
      binary,
      peek: name.endsWith('.PEEK') || binary === 'size',
      spec,
      partial,
      label: `${base}[${text}]${partial ? `<${partial.offset}>` : ''}`,
    });
    return;
  }
  if (allowMacro && macros[name]) {
    for (const item of macros[name]) items.push({ kind: 'simple', name: item });
    return;
  }
  if (!simpleItems.has(name)) failBad(`unknown fetch item ${token.value}`);
  items.push({ kind: 'simple', name: name as SimpleItem });
}

export function parseFetchItems(token: ImapToken): FetchItem[] {
  const items: FetchItem[] = [];
  if (token.kind === 'list') {
    if (token.items.length === 0) failBad('empty fetch item list');
    for (const item of token.items) parseItem(item, items, false);
  } else parseItem(token, items, true);
  return items;
}

export function parseFetchModifiers(tokens: readonly ImapToken[] | undefined): FetchModifiers {
  let changedSince: number | undefined;
  let vanished = false;
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const token = list[i]!;
    const name = token.kind === 'atom' ? token.value.toUpperCase() : '';
    if (name === 'CHANGEDSINCE') {
      const value = list[++i];
      if (value?.kind !== 'atom' || !/^\d{1,19}$/.test(value.value)) failBad('CHANGEDSINCE needs a mod-sequence number');
      changedSince = Number(value.value);
    } else if (name === 'VANISHED') vanished = true;
    else failBad(`unknown FETCH modifier ${name || '(non-atom)'}`);
  }
  if (vanished && changedSince === undefined) failBad('VANISHED requires CHANGEDSINCE');
  return { changedSince, vanished };
}
