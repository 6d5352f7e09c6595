// EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315): removes \Deleted messages (only those in
// the UID set for UID EXPUNGE) and reports them, as VANISHED when QRESYNC is on.
import { defineCommand, failBad, no, ok } from '../command';
import { atom } from '../encoder';
import { selectMessages } from '../messageSet';
import type { ImapSession } from '../session';
import { reportContextRemovals } from '../search/searchContexts';
import { formatSequenceSet } from '../sequenceSet';

export async function reportExpunged(session: ImapSession, uids: readonly number[], modseq?: number): Promise<void> {
  const view = session.selectedOrThrow();
  const present = uids.filter((uid) => view.indexOfUid(uid) >= 0);
  const seqByUid = new Map<number, number>();
  const seqs = view.removeOwn(present, modseq, seqByUid);
  if (present.length === 0) return;
  await reportContextRemovals(session, view, seqByUid);
  if (session.qresync) await session.untagged([atom('VANISHED'), atom(formatSequenceSet([...present].sort((a, b) => a - b)))]);
  else for (const seq of seqs) await session.untagged([seq, atom('EXPUNGE')]);
}

export const expungeCommand = defineCommand({
  names: ['EXPUNGE', 'UID EXPUNGE'],
  states: ['selected'],
  schema: [{ name: 'uids', kind: 'sequenceSet', optional: true }],
  async handle({ session, uid }, { uids }) {
    const view = session.selectedOrThrow();
    if (uid && !uids) failBad('UID EXPUNGE needs a UID set');
    if (!uid && uids) failBad('EXPUNGE takes no arguments');
    if (view.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    const only = uids ? selectMessages(view, uids, true).map((m) => m.message.uid) : undefined;
    if (only && only.length === 0) return ok('UID EXPUNGE completed: nothing matched');
    const result = await session.userOrThrow().expunge(view.name, only);
    await reportExpunged(session, result.uids, result.highestModseq);
    return ok('EXPUNGE completed', session.condstore ? `HIGHESTMODSEQ ${view.highestModseq}` : undefined);
  },
});
