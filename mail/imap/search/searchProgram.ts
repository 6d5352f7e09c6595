// SEARCH criteria (RFC 3501 6.4.4, RFC 7162 3.1.5) parsed into a tree. Strings are decoded with the
// CHARSET the client named; an unknown charset is a NO [BADCHARSET] (RFC 3501 7.1).
import { isKnownCharset, decodeCharset } from '../../mime/charset';
import { failBad, failNo } from '../command';
import { parseSearchDate } from '../dateTime';
import { canonicalFlag, FlagError } from '../flags';
import { imapLimits } from '../limits';
import type { ImapToken } from '../parser';
import { isSequenceSetSyntax, parseSequenceSet, SequenceSetError, type SequenceSet } from '../sequenceSet';

export type DateOp = 'before' | 'on' | 'since';

export type SearchKey =
  | { readonly k: 'all' }
  | { readonly k: 'flag'; readonly flag: string; readonly present: boolean }
  | { readonly k: 'recent'; readonly present: boolean }
  | { readonly k: 'new' }
  | { readonly k: 'header'; readonly field: string; readonly value: string }
  | { readonly k: 'body'; readonly value: string }
  | { readonly k: 'text'; readonly value: string }
  | { readonly k: 'internalDate'; readonly op: DateOp; readonly day: number }
  | { readonly k: 'sentDate'; readonly op: DateOp; readonly day: number }
  | { readonly k: 'size'; readonly larger: boolean; readonly octets: number }
  | { readonly k: 'seqSet'; readonly set: SequenceSet }
  | { readonly k: 'uidSet'; readonly set: SequenceSet }
  | { readonly k: 'modseq'; readonly modseq: number }
  /** WITHIN (RFC 5032): internal date at most (younger) or at least (older) this many seconds ago. */
  | { readonly k: 'age'; readonly younger: boolean; readonly seconds: number }
  /** "$" (RFC 5182): the messages the last SEARCH ... RETURN (SAVE) saved. */
  | { readonly k: 'saved' }
  | { readonly k: 'not'; readonly key: SearchKey }
  | { readonly k: 'or'; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly k: 'and'; readonly keys: readonly SearchKey[] };

export const badCharsetCode = 'BADCHARSET (UTF-8 US-ASCII ISO-8859-1 WINDOWS-1252)';

class Reader {
  private index = 0;
  keyCount = 0;
  constructor(
    private readonly tokens: readonly ImapToken[],
    readonly charset: string,
  ) {}

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  next(what: string): ImapToken {
    const token = this.tokens[this.index++];
    if (!token) failBad(`SEARCH: missing ${what}`);
    return token;
  }

  string(what: string): string {
    const token = this.next(what);
    if (token.kind === 'string') return decodeCharset(token.value, this.charset);
    if (token.kind === 'atom' && !token.section) return token.value;
    return failBad(`SEARCH: ${what} must be a string`);
  }

  atom(what: string): string {
    const token = this.next(what);
    if (token.kind !== 'atom' || token.section) failBad(`SEARCH: ${what} must be an atom`);
    return token.value;
  }

  number(what: string): number {
    const text = this.atom(what);
    if (!/^\d{1,19}$/.test(text) || !Number.isSafeInteger(Number(text))) failBad(`SEARCH: ${what} must be a number`);
    return Number(text);
  }

  date(what: string): number {
    const text = this.string(what);
    const day = parseSearchDate(text);
    if (day === undefined) failBad(`SEARCH: "${text}" is not a date (expected d-Mon-yyyy)`);
    return day;
  }
}

const flagKeys: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const headerKeys: Record<string, string> = { BCC: 'bcc', CC: 'cc', FROM: 'from', SUBJECT: 'subject', TO: 'to' };
const dateOps: Record<string, [DateOp, boolean]> = {
  BEFORE: ['before', false],
  ON: ['on', false],
  SINCE: ['since', false],
  SENTBEFORE: ['before', true],
  SENTON: ['on', true],
  SENTSINCE: ['since', true],
};

function parseKey(reader: Reader, depth: number): SearchKey {
  if (depth > imapLimits.listNestingDepthMax) failBad('SEARCH: criteria nested too deeply');
  if (++reader.keyCount > imapLimits.searchKeysMax) failBad(`SEARCH: more than ${imapLimits.searchKeysMax} criteria`);
  const token = reader.next('search key');
  if (token.kind === 'list') {
    if (token.items.length === 0) failBad('SEARCH: empty parenthesised criteria');
    const inner = new Reader(token.items, reader.charset);
    inner.keyCount = reader.keyCount;
    const keys: SearchKey[] = [];
    while (!inner.atEnd()) keys.push(parseKey(inner, depth + 1));
    reader.keyCount = inner.keyCount;
    return keys.length === 1 ? keys[0]! : { k: 'and', keys };
  }
  if (token.kind !== 'atom' || token.section) failBad('SEARCH: expected a search key');
  const name = token.value.toUpperCase();
  if (token.value === '$') return { k: 'saved' };
  if (isSequenceSetSyntax(token.value)) {
    try {
      return { k: 'seqSet', set: parseSequenceSet(token.value) };
    } catch (error) {
      if (error instanceof SequenceSetError) failBad(`SEARCH: ${error.message}`);
      throw error;
    }
  }
  if (flagKeys[name]) {
    const [flag, present] = flagKeys[name];
    return { k: 'flag', flag, present };
  }
  if (headerKeys[name]) return { k: 'header', field: headerKeys[name], value: reader.string(`${name} value`) };
  if (dateOps[name]) {
    const [op, sent] = dateOps[name];
    return { k: sent ? 'sentDate' : 'internalDate', op, day: reader.date(`${name} date`) };
  }
  switch (name) {
    case 'ALL':
      return { k: 'all' };
    case 'NEW':
      return { k: 'new' };
    case 'OLD':
      return { k: 'recent', present: false };
    case 'RECENT':
      return { k: 'recent', present: true };
    case 'KEYWORD':
    case 'UNKEYWORD': {
      const keyword = reader.atom('keyword');
      let flag: string | undefined;
      try {
        flag = canonicalFlag(keyword);
      } catch (error) {
        if (error instanceof FlagError) failBad(`SEARCH: ${error.message}`);
        throw error;
      }
      if (!flag) return { k: 'recent', present: name === 'KEYWORD' };
      return { k: 'flag', flag, present: name === 'KEYWORD' };
    }
    case 'HEADER': {
      const field = reader.string('header field name').toLowerCase();
      return { k: 'header', field, value: reader.string('header value') };
    }
    case 'BODY':
      return { k: 'body', value: reader.string('BODY value') };
    case 'TEXT':
      return { k: 'text', value: reader.string('TEXT value') };
    case 'LARGER':
      return { k: 'size', larger: true, octets: reader.number('LARGER size') };
    case 'SMALLER':
      return { k: 'size', larger: false, octets: reader.number('SMALLER size') };
    case 'YOUNGER':
    case 'OLDER':
      return { k: 'age', younger: name === 'YOUNGER', seconds: reader.number(`${name} interval`) };
    case 'UID': {
      const text = reader.atom('UID set');
      if (text === '$') return { k: 'saved' };
      try {
        return { k: 'uidSet', set: parseSequenceSet(text) };
      } catch (error) {
        if (error instanceof SequenceSetError) failBad(`SEARCH: ${error.message}`);
        throw error;
      }
    }
    case 'NOT':
      return { k: 'not', key: parseKey(reader, depth + 1) };
    case 'OR': {
      const a = parseKey(reader, depth + 1);
      return { k: 'or', a, b: parseKey(reader, depth + 1) };
    }
    case 'MODSEQ': {
      // MODSEQ [<entry-name> <entry-type-req>] <mod-sequence-valzer>
      const first = reader.next('MODSEQ value');
      if (first.kind === 'string') {
        const entryType = reader.atom('MODSEQ entry type').toLowerCase();
        if (!['priv', 'shared', 'all'].includes(entryType)) failBad('SEARCH: MODSEQ entry type must be priv, shared or all');
        return { k: 'modseq', modseq: reader.number('MODSEQ value') };
      }
      if (first.kind !== 'atom' || !/^\d{1,19}$/.test(first.value)) failBad('SEARCH: MODSEQ needs a mod-sequence number');
      return { k: 'modseq', modseq: Number(first.value) };
    }
    default:
      return failBad(`SEARCH: unknown search key ${token.value}`);
  }
}

export interface SearchProgram {
  readonly key: SearchKey;
  /** The program uses MODSEQ: the response carries (MODSEQ n) (RFC 7162 3.1.5). */
  readonly usesModseq: boolean;
}

function usesModseq(key: SearchKey): boolean {
  if (key.k === 'modseq') return true;
  if (key.k === 'not') return usesModseq(key.key);
  if (key.k === 'or') return usesModseq(key.a) || usesModseq(key.b);
  if (key.k === 'and') return key.keys.some(usesModseq);
  return false;
}

/** Parses "[CHARSET name] key..." ; `utf8` is UTF8=ACCEPT (strings are then UTF-8 regardless). */
export function parseSearchProgram(tokens: readonly ImapToken[], utf8: boolean): SearchProgram {
  let rest = tokens;
  let charset = 'utf-8';
  const first = rest[0];
  if (first?.kind === 'atom' && first.value.toUpperCase() === 'CHARSET') {
    const nameToken = rest[1];
    const name = nameToken?.kind === 'atom' ? nameToken.value : nameToken?.kind === 'string' ? nameToken.value.toString('latin1') : undefined;
    if (!name) failBad('SEARCH: CHARSET needs a charset name');
    if (!isKnownCharset(name)) failNo(`charset ${name} is not supported`, badCharsetCode);
    if (!utf8) charset = name;
    rest = rest.slice(2);
  }
  if (rest.length === 0) failBad('SEARCH: no search criteria');
  const reader = new Reader(rest, charset);
  const keys: SearchKey[] = [];
  while (!reader.atEnd()) keys.push(parseKey(reader, 0));
  const key: SearchKey = keys.length === 1 ? keys[0]! : { k: 'and', keys };
  return { key, usesModseq: usesModseq(key) };
}
