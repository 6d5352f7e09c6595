// SEARCH and UID SEARCH (RFC 3501 6.4.4), with MODSEQ (RFC 7162 3.1.5), RETURN options (ESEARCH,
// RFC 4731), SAVE and "$" (SEARCHRES, RFC 5182), YOUNGER/OLDER (WITHIN, RFC 5032), and CONTEXT,
// UPDATE and PARTIAL (CONTEXT=SEARCH, RFC 5267). With IMAP4rev2 enabled a SEARCH without RETURN
// answers ESEARCH, as RETURN (ALL) would (RFC 9051 6.4.4).
import { MailBackendError } from '../../backend';
import { CommandFailure, defineCommand, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { runSearch } from '../search/runSearch';
import { parseSearchProgram } from '../search/searchProgram';
import { checkContextTag, keepContext } from '../search/searchContexts';
import { esearchResponse, parseReturnOptions, savedSelection } from '../search/searchReturn';

export const searchCommand = defineCommand({
  names: ['SEARCH', 'UID SEARCH'],
  states: ['selected'],
  holdsExpunges: true,
  announcesNewFirst: true,
  schema: [{ name: 'criteria', kind: 'rest' }],
  async handle({ session, uid, tag }, { criteria }) {
    const view = session.selectedOrThrow();
    const parsed = parseReturnOptions(criteria, 'SEARCH');
    const { rest, partial } = parsed;
    const options = parsed.options ?? (session.rev2 ? new Set(['ALL' as const]) : undefined);
    const program = parseSearchProgram(rest, session.utf8);
    if (options?.has('UPDATE')) checkContextTag(view, tag);
    if (program.usesModseq) session.condstore = true;
    let found;
    try {
      found = await runSearch(session, program);
    } catch (error) {
      // A SAVE whose SEARCH failed leaves "$" empty (RFC 5182 2.1).
      if (options?.has('SAVE') && (error instanceof MailBackendError || error instanceof CommandFailure)) view.savedUids = new Set();
      throw error;
    }
    const ids = found.map((m) => (uid ? m.message.uid : m.seq));
    const modseq = program.usesModseq && found.length > 0 ? found.reduce((n, m) => Math.max(n, m.message.modseq), 0) : undefined;
    if (!options) {
      const response: ImapValue[] = [atom('SEARCH'), ...ids];
      if (modseq !== undefined) response.push([atom('MODSEQ'), modseq]);
      await session.untagged(response);
      return ok('SEARCH completed');
    }
    const first = found[0];
    const last = found[found.length - 1];
    if (options.has('SAVE')) view.savedUids = new Set(savedSelection(options, found, first, last).map((m) => m.message.uid));
    const kept = options.has('UPDATE') && (await keepContext(session, view, { tag, uid, program, sort: undefined, uids: found.map((m) => m.message.uid) }));
    const response = esearchResponse(options, { tag, uid, ids, min: ids[0], max: ids[ids.length - 1], modseq, ...(partial ? { partial } : {}) });
    if (response) await session.untagged(response);
    return ok(options.has('UPDATE') && !kept ? 'SEARCH completed, will not notify' : 'SEARCH completed');
  },
});
