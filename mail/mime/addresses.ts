// Address lists (RFC 5322 3.4), groups included, for ENVELOPE. Display names keep encoded words
// verbatim; a comment stands in for a missing display name ("alice@example.org (Alice)").
import { tokenizeStructured, type HeaderToken } from './lexer';

export interface MailboxAddress {
  readonly kind: 'mailbox';
  readonly name: string | undefined;
  /** Source route ("@a.example,@b.example"), obsolete but representable in ENVELOPE. */
  readonly route: string | undefined;
  readonly local: string;
  readonly domain: string | undefined;
}

export interface GroupAddress {
  readonly kind: 'group';
  readonly name: string;
  readonly members: readonly MailboxAddress[];
}

export type ParsedAddress = MailboxAddress | GroupAddress;

function phraseText(tokens: readonly HeaderToken[]): string | undefined {
  const words: string[] = [];
  let pendingSpace = false;
  for (const token of tokens) {
    if (token.kind === 'space' || token.kind === 'comment') {
      pendingSpace = words.length > 0;
      continue;
    }
    if (pendingSpace) words.push(' ');
    pendingSpace = false;
    words.push(token.text);
  }
  const text = words.join('').trim();
  return text.length > 0 ? text : undefined;
}

function commentText(tokens: readonly HeaderToken[]): string | undefined {
  const comment = tokens.find((t) => t.kind === 'comment');
  const text = comment?.kind === 'comment' ? comment.text.trim() : '';
  return text.length > 0 ? text : undefined;
}

function addrSpec(tokens: readonly HeaderToken[]): { local: string; domain: string | undefined } {
  const text = tokens
    .filter((t) => t.kind !== 'space' && t.kind !== 'comment')
    .map((t) => (t.kind === 'quoted' ? (/^[\w!#$%&'*+\-/=?^`{|}~.]+$/.test(t.text) ? t.text : `"${t.text}"`) : 'text' in t ? t.text : ''))
    .join('');
  const at = text.lastIndexOf('@');
  if (at < 0) return { local: text, domain: undefined };
  return { local: text.slice(0, at), domain: text.slice(at + 1) };
}

function parseMailbox(tokens: readonly HeaderToken[]): MailboxAddress | undefined {
  const open = tokens.findIndex((t) => t.kind === 'special' && t.text === '<');
  if (open >= 0) {
    let close = tokens.findIndex((t, i) => i > open && t.kind === 'special' && t.text === '>');
    if (close < 0) close = tokens.length;
    let inner = tokens.slice(open + 1, close);
    let route: string | undefined;
    const colon = inner.findIndex((t) => t.kind === 'special' && t.text === ':');
    if (colon >= 0 && inner[0]?.kind === 'special' && inner[0].text === '@') {
      route = inner
        .slice(0, colon)
        .map((t) => ('text' in t ? t.text : ''))
        .join('');
      inner = inner.slice(colon + 1);
    }
    const { local, domain } = addrSpec(inner);
    const name = phraseText(tokens.slice(0, open)) ?? commentText(tokens.slice(close + 1));
    if (local.length === 0 && domain === undefined) return undefined;
    return { kind: 'mailbox', name, route, local, domain };
  }
  const { local, domain } = addrSpec(tokens);
  if (local.length === 0 && domain === undefined) return undefined;
  return { kind: 'mailbox', name: commentText(tokens), route: undefined, local, domain };
}

/** Splits tokens at top-level commas (commas inside <...> or inside a group belong to them). */
function splitTopLevel(tokens: readonly HeaderToken[]): HeaderToken[][] {
  const items: HeaderToken[][] = [];
  let current: HeaderToken[] = [];
  let angle = false;
  let group = false;
  for (const token of tokens) {
    if (token.kind === 'special') {
      if (token.text === '<') angle = true;
      else if (token.text === '>') angle = false;
      else if (token.text === ':' && !angle) group = true;
      else if (token.text === ';' && !angle && group) {
        group = false;
        current.push(token);
        items.push(current);
        current = [];
        continue;
      } else if (token.text === ',' && !angle && !group) {
        items.push(current);
        current = [];
        continue;
      }
    }
    current.push(token);
  }
  items.push(current);
  return items.filter((item) => item.some((t) => t.kind !== 'space' && t.kind !== 'comment'));
}

export function parseAddressList(value: string): ParsedAddress[] {
  const tokens = tokenizeStructured(value, '<>@,;:');
  const result: ParsedAddress[] = [];
  for (const item of splitTopLevel(tokens)) {
    const colon = item.findIndex((t) => t.kind === 'special' && t.text === ':');
    const angle = item.findIndex((t) => t.kind === 'special' && t.text === '<');
    if (colon >= 0 && (angle < 0 || colon < angle)) {
      const name = phraseText(item.slice(0, colon)) ?? '';
      let inner = item.slice(colon + 1);
      const semicolon = inner.findIndex((t) => t.kind === 'special' && t.text === ';');
      if (semicolon >= 0) inner = inner.slice(0, semicolon);
      const members = splitInner(inner)
        .map(parseMailbox)
        .filter((m) => m !== undefined);
      result.push({ kind: 'group', name, members });
      continue;
    }
    const mailbox = parseMailbox(item);
    if (mailbox) result.push(mailbox);
  }
  return result;
}

function splitInner(tokens: readonly HeaderToken[]): HeaderToken[][] {
  const items: HeaderToken[][] = [];
  let current: HeaderToken[] = [];
  let angle = false;
  for (const token of tokens) {
    if (token.kind === 'special' && token.text === '<') angle = true;
    if (token.kind === 'special' && token.text === '>') angle = false;
    if (token.kind === 'special' && token.text === ',' && !angle) {
      items.push(current);
      current = [];
      continue;
    }
    current.push(token);
  }
  items.push(current);
  return items.filter((item) => item.some((t) => t.kind !== 'space' && t.kind !== 'comment'));
}
