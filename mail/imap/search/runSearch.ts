// Runs a SEARCH program over the selected mailbox: the matching messages with their sequence
// numbers, in mailbox order. Shared by SEARCH, SORT and THREAD.
import type { LoadedMessage } from '../messageCache';
import type { SelectedMessage } from '../messageSet';
import type { ViewMessage } from '../selectedMailbox';
import type { ImapSession } from '../session';
import { matchesMetadata, matchesSearch, messageNeeds, type SearchContent } from './evaluate';
import type { CachedSearchField } from './messageText';
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
  const passing = needs === 'content' && folderBytes(messages) > session.deps.cache.rawBytesMax ? new PassingReads(session) : undefined;
  const reader: SearchContent = passing ?? {
    load: (m) => session.loadMessage(m),
    loadRaw: (m) => session.loadRaw(m),
    headerSearch: (m) => session.loadHeaderSearch(m),
  };
  const ahead = session.readAhead(messages, passing ? (m) => passing.start(m) : needs === 'headers' ? reader.headerSearch : undefined);
  for (let i = 0; i < exists; i++) {
    const message = messages[i]!;
    if (vanishing.has(message.uid)) {
      passing?.done(message);
      continue;
    }
    ahead(i);
    if (await matchesSearch(program.key, { seq: i + 1, message, exists, largestUid, nowMs, saved }, reader)) found.push({ seq: i + 1, message });
    passing?.done(message);
  }
  return found;
}

function folderBytes(messages: readonly ViewMessage[]): number {
  let bytes = 0;
  for (const m of messages) bytes += m.sizeOctets;
  return bytes;
}

/**
 * Content reads of a search over a folder bigger than the shared message cache: every message is
 * read once and dropped once judged, instead of passing through the cache (which could not keep the
 * folder for next time anyway). The read-ahead's loads wait here, by message, within its bounds.
 */
class PassingReads implements SearchContent {
  private readonly started = new Map<ViewMessage, Promise<Uint8Array>>();

  constructor(private readonly session: ImapSession) {}

  /** A read-ahead load: kept until the search judges the message. */
  start(message: ViewMessage): Promise<Uint8Array> {
    const read = this.session.loadRawPassing(message);
    this.started.set(message, read);
    return read;
  }

  done(message: ViewMessage): void {
    this.started.delete(message);
  }

  loadRaw(message: ViewMessage): Promise<Uint8Array> {
    // A read ahead that failed is not the answer: the search's own read tries again and reports it.
    return this.started.get(message)?.catch(() => this.session.loadRawPassing(message)) ?? this.session.loadRawPassing(message);
  }

  async load(message: ViewMessage): Promise<LoadedMessage> {
    const raw = await this.loadRaw(message);
    return { raw, structure: this.session.deps.cache.structurePassing(message.ref, raw) };
  }

  headerSearch(message: ViewMessage): Promise<Record<CachedSearchField, string[]>> {
    return this.session.loadHeaderSearch(message);
  }
}
