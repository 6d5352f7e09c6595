// Result options of SEARCH and SORT: ESEARCH (RFC 4731: MIN, MAX, ALL, COUNT), SAVE (RFC 5182
// SEARCHRES) and the ESEARCH response they produce (also for ESORT, RFC 5267).
import { failBad } from '../command';
import { atom, type ImapValue } from '../encoder';
import type { ImapToken } from '../parser';
import { formatSequenceSet } from '../sequenceSet';

export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

const known = new Set<string>(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

/** RETURN (...) at the start of the arguments, or undefined options (plain SEARCH/SORT). */
export function parseReturnOptions(tokens: readonly ImapToken[], command: string): { options: ReadonlySet<ReturnOption> | undefined; rest: readonly ImapToken[] } {
  const first = tokens[0];
  if (first?.kind !== 'atom' || first.value.toUpperCase() !== 'RETURN') return { options: undefined, rest: tokens };
  const list = tokens[1];
  if (list?.kind !== 'list') failBad(`${command}: RETURN needs a parenthesised list of result options`);
  const options = new Set<ReturnOption>();
  for (const item of list.items) {
    const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
    if (!known.has(name)) failBad(`${command}: unknown result option ${name || '(non-atom)'}; use MIN, MAX, ALL, COUNT or SAVE`);
    options.add(name as ReturnOption);
  }
  // RETURN () means ALL (RFC 4731 3.1).
  if (options.size === 0) options.add('ALL');
  return { options, rest: tokens.slice(2) };
}

/** The numbers SAVE keeps: only MIN and/or MAX when those are all that was asked (RFC 5182 2.4). */
export function savedSelection<T>(options: ReadonlySet<ReturnOption>, results: readonly T[], min: T | undefined, max: T | undefined): T[] {
  if (options.has('ALL') || options.has('COUNT') || (!options.has('MIN') && !options.has('MAX'))) return [...results];
  const picked: T[] = [];
  if (options.has('MIN') && min !== undefined) picked.push(min);
  if (options.has('MAX') && max !== undefined && max !== min) picked.push(max);
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
  if (options.has('COUNT')) values.push(atom('COUNT'), result.ids.length);
  if (result.modseq !== undefined && any) values.push(atom('MODSEQ'), result.modseq);
  return values;
}
