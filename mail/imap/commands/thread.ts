// THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over the messages a search
// finds, with keys from the shared sort-key cache.
import { defineCommand, failBad, ok } from '../command';
import { atom } from '../encoder';
import { runSearch } from '../search/runSearch';
import { OrderMemo } from '../sort/orderMemo';
import { loadSortKeys } from '../sort/sortOrder';
import { formatThreads, orderedSubjectThreads, referencesThreads, threadAlgorithms, type ThreadAlgorithm } from '../sort/thread';
import { parseCharsetAndCriteria } from './sort';

export const threadCommand = defineCommand({
  names: ['THREAD', 'UID THREAD'],
  states: ['selected'],
  holdsExpunges: true,
  announcesNewFirst: true,
  schema: [
    { name: 'algorithm', kind: 'atom' },
    { name: 'criteria', kind: 'rest' },
  ],
  async handle({ session, uid }, { algorithm, criteria }) {
    const name = algorithm.toUpperCase() as ThreadAlgorithm;
    if (!threadAlgorithms.includes(name)) failBad(`THREAD: unknown algorithm ${algorithm}; use ${threadAlgorithms.join(' or ')}`);
    const program = parseCharsetAndCriteria(criteria, 'THREAD', session.utf8);
    const view = session.selectedOrThrow();
    // THREAD of the whole folder: the same answer as last time while the same messages are here.
    const memoKey = OrderMemo.covers(program) ? `THREAD ${name} ${uid ? 'UID' : 'SEQ'}` : undefined;
    const version = view.membershipVersion;
    let text = memoKey === undefined ? undefined : view.orderMemo.text(memoKey, version);
    if (text === undefined) {
      const messages = await runSearch(session, program);
      const keys = await loadSortKeys(session, messages);
      const input = { messages, keys };
      const roots = name === 'REFERENCES' ? referencesThreads(input) : orderedSubjectThreads(input);
      text = formatThreads(roots, (i) => (uid ? messages[i]!.message.uid : messages[i]!.seq));
      if (memoKey !== undefined && view.membershipVersion === version) view.orderMemo.keepText(memoKey, version, text);
    }
    await session.untagged(text ? [atom('THREAD'), atom(text)] : [atom('THREAD')]);
    return ok('THREAD completed');
  },
});
