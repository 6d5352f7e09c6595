// FETCH and UID FETCH (RFC 3501 6.4.5) with CHANGEDSINCE and VANISHED (RFC 7162 3.1.4, 3.2.6).
// Non-peek body fetches set \Seen first, so the responses carry the new flags.
import { MailBackendError } from '../../backend';
import { defineCommand, failBad, no, ok } from '../command';
import { atom } from '../encoder';
import { parseFetchItems, parseFetchModifiers } from '../fetch/fetchItems';
import { type FetchOptions, fetchValues, metadataFetchLine, metadataNames, metadataOnly, needsContent, setsSeen, showsFlags } from '../fetch/fetchResponse';
import type { FetchItem } from '../fetch/fetchItems';
import type { SelectedMessage } from '../messageSet';
import type { ImapSession } from '../session';
import type { LoadedMessage } from '../messageCache';
import { hasFlag } from '../flags';
import { imapLimits } from '../limits';
import { selectMessages } from '../messageSet';
import { formatSequenceSet, resolveUidIndexes } from '../sequenceSet';

export const fetchCommand = defineCommand({
  names: ['FETCH', 'UID FETCH'],
  states: ['selected'],
  holdsExpunges: true,
  announcesNewFirst: true,
  schema: [
    { name: 'messages', kind: 'sequenceSet' },
    { name: 'items', kind: 'rest' },
  ],
  async handle({ session, uid }, { messages, items: itemTokens }) {
    const view = session.selectedOrThrow();
    const [itemToken, modifierToken, ...extra] = itemTokens;
    if (!itemToken || extra.length > 0) failBad('FETCH needs a message set, data items and optional modifiers');
    if (modifierToken && modifierToken.kind !== 'list') failBad('FETCH modifiers must be a parenthesised list');
    const items = parseFetchItems(itemToken);
    const modifiers = parseFetchModifiers(modifierToken?.kind === 'list' ? modifierToken.items : undefined);
    if (modifiers.vanished && !uid) failBad('VANISHED is only allowed with UID FETCH');
    if (modifiers.vanished && !session.qresync) failBad('VANISHED needs ENABLE QRESYNC first');
    const wantsModseq = modifiers.changedSince !== undefined || items.some((i) => i.kind === 'simple' && i.name === 'MODSEQ');
    if (wantsModseq) session.condstore = true;

    let selected = selectMessages(view, messages, uid);
    if (modifiers.changedSince !== undefined) selected = selected.filter((m) => m.message.modseq > modifiers.changedSince!);
    const user = session.userOrThrow();
    if (modifiers.vanished) {
      const expunged = await user.expungedSince(view.name, modifiers.changedSince!);
      const largest = Math.max(view.uidNext - 1, ...expunged);
      const inSet = resolveUidIndexes(messages, expunged).map((i) => expunged[i]!);
      if (inSet.length > 0 && largest > 0) await session.untagged([atom('VANISHED'), [atom('EARLIER')], atom(formatSequenceSet(inSet))]);
    }

    const seenChanged = new Set<number>();
    if (setsSeen(items) && !view.readOnly) {
      const unseen = selected.filter((m) => !hasFlag(m.message.flags, '\\Seen')).map((m) => m.message.uid);
      if (unseen.length > 0) {
        const result = await user.storeFlags(view.name, unseen, { mode: 'add', flags: ['\\Seen'] });
        for (const change of result.changed) {
          view.applyOwnFlags(change.uid, change.flags, change.modseq);
          seenChanged.add(change.uid);
        }
      }
    }

    if (metadataOnly(items) && seenChanged.size === 0) {
      await writeMetadata(session, selected, items, { uid, addFlags: false, addModseq: modifiers.changedSince !== undefined });
      return ok('FETCH completed');
    }
    const vanishing = view.pendingExpungedUids();
    let missing = 0;
    const content = needsContent(items);
    const ahead = content ? session.readAhead(selected.map((m) => m.message)) : undefined;
    for (let i = 0; i < selected.length; i++) {
      const { seq, message } = selected[i]!;
      let loaded: LoadedMessage | undefined;
      if (content) {
        ahead!(i);
        try {
          loaded = await session.loadMessage(message);
        } catch (error) {
          // A message expunged elsewhere may already have lost its content; it is reported later.
          if (vanishing.has(message.uid) && error instanceof MailBackendError) {
            missing++;
            continue;
          }
          throw error;
        }
      }
      const options = {
        uid,
        addFlags: seenChanged.has(message.uid),
        addModseq: modifiers.changedSince !== undefined || (session.condstore && seenChanged.has(message.uid)),
      };
      const announcing = showsFlags(items, options) ? session.announceKeywordsOf(message) : undefined;
      if (announcing) await announcing;
      // Awaited only when the connection asks to wait (its buffer is full): no await per message otherwise.
      const wait = session.untagged([seq, atom('FETCH'), fetchValues(session, message, items, loaded, options)]);
      if (wait) await wait;
    }
    if (missing > 0) return no(`${missing} of the requested messages were expunged meanwhile`, 'EXPUNGEISSUED');
    return ok('FETCH completed');
  },
});

/**
 * FETCH of metadata only (UID, FLAGS, INTERNALDATE, RFC822.SIZE, MODSEQ): each response written as
 * text, collected into batches; new keywords are announced (after what is collected) before the
 * response that shows them.
 */
async function writeMetadata(session: ImapSession, selected: readonly SelectedMessage[], items: readonly FetchItem[], options: FetchOptions): Promise<void> {
  const names = metadataNames(items, options);
  const flags = names.includes('FLAGS');
  let batch = '';
  for (const { seq, message } of selected) {
    if (flags && session.selected?.keywordsNew(message.flags)) {
      const wait = batch ? session.encoded(batch) : undefined;
      batch = '';
      if (wait) await wait;
      await session.announceKeywordsOf(message);
    }
    batch += metadataFetchLine(session, seq, message, names);
    if (batch.length >= imapLimits.fetchTextBatchChars) {
      const wait = session.encoded(batch);
      batch = '';
      if (wait) await wait;
    }
  }
  if (batch) await session.encoded(batch);
}
