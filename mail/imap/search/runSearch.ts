// Runs a SEARCH program over the selected mailbox: the matching messages with their sequence
// numbers, in mailbox order. Shared by SEARCH, SORT and THREAD.
import type { SelectedMessage } from '../messageSet';
import type { ImapSession } from '../session';
import { matchesSearch, messageNeeds } from './evaluate';
import type { SearchProgram } from './searchProgram';

export async function runSearch(session: ImapSession, program: SearchProgram): Promise<SelectedMessage[]> {
  const view = session.selectedOrThrow();
  const needs = messageNeeds(program.key);
  // A message whose expunge is queued may have lost its content; it is reported gone soon anyway.
  const vanishing = needs !== 'nothing' ? view.pendingExpungedUids() : new Set<number>();
  const messages = [...view.messages];
  const largestUid = messages[messages.length - 1]?.uid ?? 0;
  const nowMs = session.deps.clock.now();
  const found: SelectedMessage[] = [];
  const ahead = needs === 'nothing' ? undefined : session.readAhead(messages, needs === 'headers' ? (m) => session.loadHeaderSearch(m) : undefined);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (vanishing.has(message.uid)) continue;
    ahead?.(i);
    const matched = await matchesSearch(program.key, {
      seq: i + 1,
      message,
      exists: messages.length,
      largestUid,
      nowMs,
      saved: view.savedUids,
      load: () => session.loadMessage(message),
      loadRaw: () => session.loadRaw(message),
      headerSearch: () => session.loadHeaderSearch(message),
    });
    if (matched) found.push({ seq: i + 1, message });
  }
  return found;
}
