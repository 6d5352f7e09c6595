// Runs a SEARCH program over the selected mailbox: the matching messages with their sequence
// numbers, in mailbox order. Shared by SEARCH, SORT and THREAD.
import type { SelectedMessage } from '../messageSet';
import type { ImapSession } from '../session';
import { matchesMetadata, matchesSearch, messageNeeds, type SearchContent } from './evaluate';
import type { SearchProgram } from './searchProgram';

export async function runSearch(session: ImapSession, program: SearchProgram): Promise<SelectedMessage[]> {
  const view = session.selectedOrThrow();
  const needs = messageNeeds(program.key);
  const messages = [...view.messages];
  const exists = messages.length;
  const largestUid = messages[exists - 1]?.uid ?? 0;
  const nowMs = session.deps.clock.now();
  const saved = view.savedUids;
  const found: SelectedMessage[] = [];
  if (needs === 'nothing') {
    // Flags, sizes, dates, sets: no content, so no await per message.
    for (let i = 0; i < exists; i++) {
      const message = messages[i]!;
      if (matchesMetadata(program.key, { seq: i + 1, message, exists, largestUid, nowMs, saved })) found.push({ seq: i + 1, message });
    }
    return found;
  }
  // A message whose expunge is queued may have lost its content; it is reported gone soon anyway.
  const vanishing = view.pendingExpungedUids();
  const reader: SearchContent = {
    load: (m) => session.loadMessage(m),
    loadRaw: (m) => session.loadRaw(m),
    headerSearch: (m) => session.loadHeaderSearch(m),
  };
  const ahead = session.readAhead(messages, needs === 'headers' ? reader.headerSearch : undefined);
  for (let i = 0; i < exists; i++) {
    const message = messages[i]!;
    if (vanishing.has(message.uid)) continue;
    ahead(i);
    if (await matchesSearch(program.key, { seq: i + 1, message, exists, largestUid, nowMs, saved }, reader)) found.push({ seq: i + 1, message });
  }
  return found;
}
