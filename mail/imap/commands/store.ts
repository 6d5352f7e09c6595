// STORE and UID STORE (RFC 3501 6.4.6) with UNCHANGEDSINCE and MODIFIED (RFC 7162 3.1.3).
import type { FlagUpdateMode } from '../../backend';
import { defineCommand, failBad, no, ok } from '../command';
import { atom, type ImapValue } from '../encoder';
import { canonicalFlags, FlagError } from '../flags';
import { selectMessages } from '../messageSet';
import type { ImapToken } from '../parser';
import { formatSequenceSet } from '../sequenceSet';

function parseItem(text: string): { mode: FlagUpdateMode; silent: boolean } {
  const match = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(text);
  if (!match) failBad(`STORE: unknown data item ${text}; use FLAGS, +FLAGS or -FLAGS (optionally .SILENT)`);
  const mode: FlagUpdateMode = match[1] === '+' ? 'add' : match[1] === '-' ? 'remove' : 'replace';
  return { mode, silent: match[2] !== undefined };
}

function parseFlags(tokens: readonly ImapToken[]): string[] {
  const items = tokens.length === 1 && tokens[0]!.kind === 'list' ? tokens[0]!.items : tokens;
  if (items.some((item) => item.kind !== 'atom' || item.section)) failBad('STORE: flags must be atoms');
  try {
    return canonicalFlags(items.map((item) => (item as { value: string }).value));
  } catch (error) {
    if (error instanceof FlagError) failBad(`STORE: ${error.message}`);
    throw error;
  }
}

function parseUnchangedSince(tokens: readonly ImapToken[] | undefined): number | undefined {
  if (!tokens) return undefined;
  const [name, value] = tokens;
  if (tokens.length !== 2 || name?.kind !== 'atom' || name.value.toUpperCase() !== 'UNCHANGEDSINCE') failBad('STORE: the only modifier is (UNCHANGEDSINCE modseq)');
  if (value?.kind !== 'atom' || !/^\d{1,19}$/.test(value.value)) failBad('STORE: UNCHANGEDSINCE needs a mod-sequence number');
  return Number(value.value);
}

export const storeCommand = defineCommand({
  names: ['STORE', 'UID STORE'],
  states: ['selected'],
  holdsExpunges: true,
  schema: [
    { name: 'messages', kind: 'sequenceSet' },
    { name: 'modifiers', kind: 'list', optional: true },
    { name: 'item', kind: 'atom' },
    { name: 'flags', kind: 'rest' },
  ],
  async handle({ session, uid }, { messages, modifiers, item, flags }) {
    const view = session.selectedOrThrow();
    const unchangedSince = parseUnchangedSince(modifiers);
    const { mode, silent } = parseItem(item);
    // Keywords are case-insensitive: one the mailbox knows keeps the case it has there.
    const flagList = parseFlags(flags).map((flag) => view.keywords.get(flag.toLowerCase()) ?? flag);
    if (view.readOnly) return no('Mailbox is read-only', 'READ-ONLY');
    if (unchangedSince !== undefined) session.condstore = true;
    const selected = selectMessages(view, messages, uid);
    const result =
      selected.length === 0
        ? { changed: [], failed: [] }
        : await session.userOrThrow().storeFlags(
            view.name,
            selected.map((m) => m.message.uid),
            { mode, flags: flagList, ...(unchangedSince !== undefined ? { unchangedSince } : {}) },
          );
    const changedUids = new Set<number>();
    for (const change of result.changed) {
      view.applyOwnFlags(change.uid, change.flags, change.modseq);
      changedUids.add(change.uid);
    }
    const failed = new Set(result.failed);
    for (const { seq, message } of selected) {
      if (failed.has(message.uid)) continue;
      const report = !silent || (session.condstore && changedUids.has(message.uid));
      if (!report) continue;
      const items: ImapValue[] = [];
      if (uid) items.push(atom('UID'), message.uid);
      if (!silent) items.push(atom('FLAGS'), await session.flagsValue(message));
      if (session.condstore) items.push(atom('MODSEQ'), [message.modseq]);
      await session.untagged([seq, atom('FETCH'), items]);
    }
    if (failed.size > 0) {
      const ids = selected.filter((m) => failed.has(m.message.uid)).map((m) => (uid ? m.message.uid : m.seq));
      return ok('Conditional STORE failed for some messages', `MODIFIED ${formatSequenceSet(ids)}`);
    }
    return ok('STORE completed');
  },
});
