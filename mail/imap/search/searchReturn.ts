// Result options of SEARCH and SORT: ESEARCH (RFC 4731: MIN, MAX, ALL, COUNT), SAVE (RFC 5182
// SEARCHRES), CONTEXT, UPDATE and PARTIAL (RFC 5267 CONTEXT=SEARCH and CONTEXT=SORT), and the
// ESEARCH response they produce (also for ESORT, RFC 5267).
import { failBad } from '../command';
import { atom, type ImapValue } from '../encoder';
import type { ImapToken } from '../parser';
import { formatSequenceSet } from '../sequenceSet';

export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE' | 'CONTEXT' | 'UPDATE' | 'PARTIAL';

const known = new Set<string>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE', 'CONTEXT', 'UPDATE', 'PARTIAL']);

/** PARTIAL low:high: the results at positions low..high (1-based, in result order; RFC 5267 4.4). */
export interface PartialRange {
  readonly low: number;
  readonly high: number;
}

export interface ReturnOptions {
  /** undefined: no RETURN (plain SEARCH/SORT answers). */
  readonly options: ReadonlySet<ReturnOption> | undefined;
  readonly partial?: PartialRange;
  readonly rest: readonly ImapToken[];
}

function parsePartialRange(token: ImapToken | undefined, command: string): PartialRange {
  const match = token?.kind === 'atom' ? /^([1-9]\d{0,9}):([1-9]\d{0,9})$/.exec(token.value) : null;
  if (!match) failBad(`${command}: PARTIAL needs a range of result positions such as 1:500 (no 0, no *)`);
  const a = Number(match[1]);
  const b = Number(match[2]);
  return { low: Math.min(a, b), high: Math.max(a, b) };
}

/** RETURN (...) at the start of the arguments, or undefined options (plain SEARCH/SORT). */
export function parseReturnOptions(tokens: readonly ImapToken[], command: string): ReturnOptions {
  const first = tokens[0];
  if (first?.kind !== 'atom' || first.value.toUpperCase() !== 'RETURN') return { options: undefined, rest: tokens };
  const list = tokens[1];
  if (list?.kind !== 'list') failBad(`${command}: RETURN needs a parenthesised list of result options`);
  const options = new Set<ReturnOption>();
  let partial: PartialRange | undefined;
  for (let i = 0; i < list.items.length; i++) {
    const item = list.items[i]!;
    const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
    if (!known.has(name)) failBad(`${command}: unknown result option ${name || '(non-atom)'}; use MIN, MAX, ALL, COUNT, SAVE, CONTEXT, UPDATE or PARTIAL`);
    if (name === 'PARTIAL') {
      if (partial) failBad(`${command}: PARTIAL may be given only once`);
      partial = parsePartialRange(list.items[++i], command);
    }
    options.add(name as ReturnOption);
  }
  // RFC 5267 4.4: one PARTIAL, one ALL, or neither.
  if (options.has('PARTIAL') && options.has('ALL')) failBad(`${command}: PARTIAL and ALL cannot be combined`);
  // RETURN () means ALL (RFC 4731 3.1).
  if (options.size === 0) options.add('ALL');
  return { options, ...(partial ? { partial } : {}), rest: tokens.slice(2) };
}

/** The numbers SAVE keeps: only MIN and/or MAX when those are all that was asked (RFC 5182 2.4). */
export function savedSelection<T>(options: ReadonlySet<ReturnOption>, results: readonly T[], min: T | undefined, max: T | undefined): T[] {
  const asks = (option: ReturnOption): boolean => options.has(option);
  if (asks('ALL') || asks('COUNT') || asks('PARTIAL') || (!asks('MIN') && !asks('MAX'))) return [...results];
  const picked: T[] = [];
  if (asks('MIN') && min !== undefined) picked.push(min);
  if (asks('MAX') && max !== undefined && max !== min) picked.push(max);
  return picked;
}

export interface EsearchResult {
  readonly tag: string;
  readonly uid: boolean;
  /** Message numbers or UIDs, in result order (ascending for SEARCH, sort order for SORT). */
  readonly ids: readonly number[];
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** Highest modseq of the results, when the program used MODSEQ (RFC 7162 3.1.5). */
  readonly modseq: number | undefined;
  readonly partial?: PartialRange;
}

/** The ESEARCH response, or undefined when only SAVE was asked (no response then). */
export function esearchResponse(options: ReadonlySet<ReturnOption>, result: EsearchResult): ImapValue[] | undefined {
  if ([...options].every((o) => o === 'SAVE')) return undefined;
  const values: ImapValue[] = [atom('ESEARCH'), [atom('TAG'), result.tag]];
  if (result.uid) values.push(atom('UID'));
  const any = result.ids.length > 0;
  if (options.has('MIN') && any) values.push(atom('MIN'), result.min!);
  if (options.has('MAX') && any) values.push(atom('MAX'), result.max!);
  if (options.has('ALL') && any) values.push(atom('ALL'), atom(formatSequenceSet(result.ids)));
  if (result.partial) {
    const { low, high } = result.partial;
    const window = result.ids.slice(low - 1, high);
    values.push(atom('PARTIAL'), [atom(`${low}:${high}`), window.length > 0 ? atom(formatSequenceSet(window)) : null]);
  }
  if (options.has('COUNT')) values.push(atom('COUNT'), result.ids.length);
  if (result.modseq !== undefined && any) values.push(atom('MODSEQ'), result.modseq);
  return values;
}
