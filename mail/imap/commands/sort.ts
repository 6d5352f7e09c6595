// SORT and UID SORT (RFC 5256), with RETURN options (ESORT and CONTEXT=SORT, RFC 5267; SAVE of
// RFC 5182) and MODSEQ (RFC 7162). The header keys come from the shared sort-key cache, so sorting
// a big folder again reads no message.
import { defineCommand, failBad, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import type { ImapToken } from '../parser';
import { checkContextTag, keepContext, orderedResult } from '../search/searchContexts';
import { parseSearchProgram, type SearchProgram } from '../search/searchProgram';
import { esearchResponse, parseReturnOptions, savedSelection } from '../search/searchReturn';
import { OrderMemo } from '../sort/orderMemo';
import { criteriaText, parseSortCriteria } from '../sort/sortOrder';

/** "charset criteria..." as SORT and THREAD write it: the charset is positional, not CHARSET x. */
export function parseCharsetAndCriteria(tokens: readonly ImapToken[], command: string, utf8: boolean): SearchProgram {
  const charset = tokens[0];
  if (!charset || (charset.kind !== 'atom' && charset.kind !== 'string')) failBad(`${command} needs a charset (UTF-8) before the search criteria`);
  return parseSearchProgram([{ kind: 'atom', value: 'CHARSET' }, charset, ...tokens.slice(1)], utf8);
}

export const sortCommand = defineCommand({
  names: ['SORT', 'UID SORT'],
  states: ['selected'],
  holdsExpunges: true,
  announcesNewFirst: true,
  schema: [{ name: 'args', kind: 'rest' }],
  async handle({ session, uid, tag }, { args }) {
    const view = session.selectedOrThrow();
    const { options, partial, rest } = parseReturnOptions(args, 'SORT');
    const criteria = parseSortCriteria(rest[0]);
    const program = parseCharsetAndCriteria(rest.slice(1), 'SORT', session.utf8);
    if (program.usesModseq) session.condstore = true;
    if (options?.has('UPDATE')) checkContextTag(view, tag);
    // A plain SORT of the whole folder: the same answer as last time while the same messages are here
    // (a client sorting a big folder asks again on every look at it; 100,000 numbers cost more to
    // write than to look up).
    const textKey = !options && !program.usesModseq && OrderMemo.covers(program) ? `SORT TEXT ${uid ? 'UID' : 'SEQ'} ${criteriaText(criteria)}` : undefined;
    const version = view.membershipVersion;
    const keptText = textKey === undefined ? undefined : view.orderMemo.text(textKey, version);
    if (keptText !== undefined) {
      await session.untagged(keptText ? [atom('SORT'), atom(keptText)] : [atom('SORT')]);
      return ok('SORT completed');
    }
    const sorted = await orderedResult(session, program, criteria);
    const ids = sorted.map((m) => (uid ? m.message.uid : m.seq));
    const modseq = program.usesModseq && sorted.length > 0 ? sorted.reduce((n, m) => Math.max(n, m.message.modseq), 0) : undefined;
    if (!options) {
      if (textKey !== undefined) {
        const text = ids.join(' ');
        if (view.membershipVersion === version) view.orderMemo.keepText(textKey, version, text);
        await session.untagged(text ? [atom('SORT'), atom(text)] : [atom('SORT')]);
        return ok('SORT completed');
      }
      const response: ImapValue[] = [atom('SORT'), ...ids];
      if (modseq !== undefined) response.push([atom('MODSEQ'), modseq]);
      await session.untagged(response);
      return ok('SORT completed');
    }
    // ESORT: MIN and MAX are the first and last in sort order, ALL keeps the sort order.
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    if (options.has('SAVE')) view.savedUids = new Set(savedSelection(options, sorted, first, last).map((m) => m.message.uid));
    const kept = options.has('UPDATE') && (await keepContext(session, view, { tag, uid, program, sort: criteria, uids: sorted.map((m) => m.message.uid) }));
    const response = esearchResponse(options, { tag, uid, ids, min: ids[0], max: ids[ids.length - 1], modseq, ...(partial ? { partial } : {}) });
    if (response) await session.untagged(response);
    return ok(options.has('UPDATE') && !kept ? 'SORT completed, will not notify' : 'SORT completed');
  },
});
