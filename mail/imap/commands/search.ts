// SEARCH and UID SEARCH (RFC 3501 6.4.4), with MODSEQ (RFC 7162 3.1.5).
import { defineCommand, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { matchesSearch, needsContent } from '../search/evaluate';
import { parseSearchProgram } from '../search/searchProgram';

export const searchCommand = defineCommand({
  names: ['SEARCH', 'UID SEARCH'],
  states: ['selected'],
  holdsExpunges: true,
  schema: [{ name: 'criteria', kind: 'rest' }],
  async handle({ session, uid }, { criteria }) {
    const view = session.selectedOrThrow();
    const program = parseSearchProgram(criteria, session.utf8);
    if (program.usesModseq) session.condstore = true;
    const content = needsContent(program.key);
    const vanishing = content ? view.pendingExpungedUids() : new Set<number>();
    const largestUid = view.messages[view.messages.length - 1]?.uid ?? 0;
    const found: number[] = [];
    let highestModseq = 0;
    const messages = [...view.messages];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      if (vanishing.has(message.uid)) continue; // content may be gone; it will be expunged anyway
      const matched = await matchesSearch(program.key, {
        seq: i + 1,
        message,
        exists: messages.length,
        largestUid,
        load: () => session.loadMessage(message),
      });
      if (!matched) continue;
      found.push(uid ? message.uid : i + 1);
      highestModseq = Math.max(highestModseq, message.modseq);
    }
    const response: ImapValue[] = [atom('SEARCH'), ...found];
    if (program.usesModseq && found.length > 0) response.push([atom('MODSEQ'), highestModseq]);
    await session.untagged(response);
    return ok('SEARCH completed');
  },
});
