// The addressbook-query filter (RFC 6352 10.5): prop-filters on vCard properties (FN, EMAIL, TEL, N ...)
// with text-match (contains, equals, starts-with, ends-with; negatable) and param-filter, combined with
// anyof/allof, and the result limit (nresults). Pure: a filter from XML, and whether a card's text
// passes it. Collations are the three RFC 4790 ones clients send; another is refused (supported-collation).
import ICAL from 'ical.js';
import { CARDDAV_QUERY_FILTERS_MAX } from '../protocol/limits';
import { DavFailure } from './response';
import { parseVCard, text as valueText, VCardError } from './vcard';
import { child, is, NS, type XmlElement } from './xml';

type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';
export interface TextMatch {
  readonly text: string;
  readonly matchType: MatchType;
  readonly caseless: boolean;
  readonly negate: boolean;
}
export interface ParamFilter {
  readonly name: string;
  readonly isNotDefined: boolean;
  readonly match?: TextMatch;
}
export interface CardPropFilter {
  readonly name: string;
  readonly allOf: boolean;
  readonly isNotDefined: boolean;
  readonly matches: readonly TextMatch[];
  readonly params: readonly ParamFilter[];
}
export interface CardFilter {
  readonly allOf: boolean;
  readonly props: readonly CardPropFilter[];
}

const MATCH_TYPES: readonly string[] = ['equals', 'contains', 'starts-with', 'ends-with'];
const CASELESS: Readonly<Record<string, boolean>> = { 'i;unicode-casemap': true, 'i;ascii-casemap': true, 'i;octet': false };
const invalid = (why: string) => new DavFailure(400, `addressbook-query: ${why}`, [NS.carddav, 'valid-filter']);
const testOf = (el: XmlElement): boolean => {
  const test = (el.attrs.test ?? 'anyof').toLowerCase();
  if (test !== 'anyof' && test !== 'allof') throw invalid('test is anyof or allof');
  return test === 'allof';
};

function textMatchOf(el: XmlElement): TextMatch {
  const collation = (el.attrs.collation ?? 'i;unicode-casemap').toLowerCase();
  const caseless = CASELESS[collation];
  if (caseless === undefined) throw new DavFailure(412, `the collation ${collation} is not supported`, [NS.carddav, 'supported-collation']);
  const matchType = (el.attrs['match-type'] ?? 'contains').toLowerCase();
  if (!MATCH_TYPES.includes(matchType)) throw invalid(`match-type is one of ${MATCH_TYPES.join(', ')}`);
  return { text: el.text, matchType: matchType as MatchType, caseless, negate: (el.attrs['negate-condition'] ?? 'no').toLowerCase() === 'yes' };
}

function paramFilterOf(el: XmlElement): ParamFilter {
  const name = (el.attrs.name ?? '').toUpperCase();
  if (!name) throw invalid('a param-filter needs a name');
  const match = child(el, NS.carddav, 'text-match');
  return { name, isNotDefined: child(el, NS.carddav, 'is-not-defined') !== undefined, ...(match ? { match: textMatchOf(match) } : {}) };
}

function propFilterOf(el: XmlElement): CardPropFilter {
  const name = (el.attrs.name ?? '').toUpperCase();
  if (!name) throw invalid('a prop-filter needs a name');
  const matches = el.children.filter((c) => is(c, NS.carddav, 'text-match'));
  const params = el.children.filter((c) => is(c, NS.carddav, 'param-filter'));
  if (matches.length + params.length > CARDDAV_QUERY_FILTERS_MAX) throw new DavFailure(403, `a prop-filter holds at most ${CARDDAV_QUERY_FILTERS_MAX} conditions`, [NS.carddav, 'supported-filter']);
  return { name, allOf: testOf(el), isNotDefined: child(el, NS.carddav, 'is-not-defined') !== undefined, matches: matches.map(textMatchOf), params: params.map(paramFilterOf) };
}

/** The query's filter; 400 valid-filter when it is missing or malformed. */
export function cardFilterOf(body: XmlElement): CardFilter {
  const filter = child(body, NS.carddav, 'filter');
  if (!filter) throw invalid('the query needs a filter (an empty one matches every card)');
  const props = filter.children.filter((c) => is(c, NS.carddav, 'prop-filter'));
  if (props.length > CARDDAV_QUERY_FILTERS_MAX) throw new DavFailure(403, `a filter holds at most ${CARDDAV_QUERY_FILTERS_MAX} prop-filters`, [NS.carddav, 'supported-filter']);
  return { allOf: testOf(filter), props: props.map(propFilterOf) };
}

/** The client's nresults (RFC 6352 8.6.1), or undefined for no limit. */
export function limitOf(body: XmlElement): number | undefined {
  const n = child(child(body, NS.carddav, 'limit'), NS.carddav, 'nresults');
  if (!n) return undefined;
  const value = Number(n.text);
  if (!/^\d+$/.test(n.text.trim()) || !Number.isSafeInteger(value)) throw invalid('nresults is a non-negative integer');
  return value;
}

export function textMatches(value: string, m: TextMatch): boolean {
  const v = m.caseless ? value.toLowerCase() : value;
  const t = m.caseless ? m.text.toLowerCase() : m.text;
  const hit = m.matchType === 'equals' ? v === t : m.matchType === 'starts-with' ? v.startsWith(t) : m.matchType === 'ends-with' ? v.endsWith(t) : v.includes(t);
  return m.negate ? !hit : hit;
}

function paramMatches(p: ICAL.Property, f: ParamFilter): boolean {
  const raw = p.getParameter(f.name.toLowerCase());
  const values = raw === undefined || raw === null ? [] : (Array.isArray(raw) ? raw : [raw]).map(valueText);
  if (f.isNotDefined) return values.length === 0;
  if (values.length === 0) return false;
  return f.match === undefined || values.some((v) => textMatches(v, f.match!));
}

/** One property instance against the prop-filter's conditions (RFC 6352 10.5.1: all or any of them). */
function instanceMatches(p: ICAL.Property, f: CardPropFilter): boolean {
  const value = p.getValues().map(valueText).join(' ');
  const results = [...f.matches.map((m) => textMatches(value, m)), ...f.params.map((pf) => paramMatches(p, pf))];
  if (results.length === 0) return true;
  return f.allOf ? results.every(Boolean) : results.some(Boolean);
}

export function cardMatches(text: string, filter: CardFilter): boolean {
  let card;
  try {
    card = parseVCard(text);
  } catch (e) {
    if (e instanceof VCardError) return false;
    throw e;
  }
  if (filter.props.length === 0) return true;
  const results = filter.props.map((f) => {
    const instances = card.root.getAllProperties(f.name.toLowerCase());
    if (f.isNotDefined) return instances.length === 0;
    return instances.some((p) => instanceMatches(p, f));
  });
  return filter.allOf ? results.every(Boolean) : results.some(Boolean);
}
