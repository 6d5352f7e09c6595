// SELECT and EXAMINE (RFC 3501 6.3.1-2) with the CONDSTORE and QRESYNC parameters (RFC 7162).
// A failed SELECT leaves no mailbox selected. With IMAP4rev2 enabled (RFC 9051 6.3.2) there is no
// RECENT nor UNSEEN, and a LIST response gives the mailbox's canonical name.
import { MailBackendError } from '../../backend';
import { noReplyFor } from '../backendErrors';
import { defineCommand, failBad, ok, type CommandContext, type CommandResult } from '../command';
import { atom } from '../encoder';
import { imapLimits } from '../limits';
import { encodeMailboxName, hierarchyDelimiter } from '../mailboxNames';
import type { ImapToken } from '../parser';
import type { SelectedMailbox } from '../selectedMailbox';
import { expandSequenceSet, formatSequenceSet, parseSequenceSet, SequenceSetError, type SequenceSet } from '../sequenceSet';

interface QresyncParams {
  readonly uidValidity: number;
  readonly modseq: number;
  readonly knownUids: SequenceSet | undefined;
}

function numberOf(token: ImapToken | undefined, what: string): number {
  if (token?.kind !== 'atom' || !/^\d{1,19}$/.test(token.value)) failBad(`QRESYNC: ${what} must be a number`);
  return Number(token.value);
}

function parseParams(tokens: readonly ImapToken[] | undefined): { condstore: boolean; qresync: QresyncParams | undefined } {
  let condstore = false;
  let qresync: QresyncParams | undefined;
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const token = list[i]!;
    const name = token.kind === 'atom' ? token.value.toUpperCase() : '';
    if (name === 'CONDSTORE') condstore = true;
    else if (name === 'QRESYNC') {
      const args = list[++i];
      if (args?.kind !== 'list' || args.items.length < 2) failBad('QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]])');
      const uidValidity = numberOf(args.items[0], 'UIDVALIDITY');
      const modseq = numberOf(args.items[1], 'mod-sequence');
      let knownUids: SequenceSet | undefined;
      const known = args.items[2];
      if (known) {
        if (known.kind !== 'atom') failBad('QRESYNC: known UIDs must be a UID set');
        try {
          knownUids = parseSequenceSet(known.value);
        } catch (error) {
          if (error instanceof SequenceSetError) failBad(`QRESYNC: ${error.message}`);
          throw error;
        }
      }
      // The optional sequence-match data only helps servers without expunge history; ignored.
      qresync = { uidValidity, modseq, knownUids };
    } else failBad(`unknown SELECT parameter ${name || '(non-atom)'}`);
  }
  return { condstore, qresync };
}

async function reportQresync(context: CommandContext, view: SelectedMailbox, params: QresyncParams): Promise<void> {
  const { session } = context;
  if (params.uidValidity !== view.uidValidity) return; // the client must resync from scratch
  const user = session.userOrThrow();
  let vanished = await user.expungedSince(view.name, params.modseq);
  if (params.knownUids) {
    const largest = view.uidNext - 1;
    const known = new Set(expandSequenceSet(params.knownUids, largest, imapLimits.qresyncKnownUidsMax));
    vanished = vanished.filter((uid) => known.has(uid));
  }
  if (vanished.length > 0) await session.untagged([atom('VANISHED'), [atom('EARLIER')], atom(formatSequenceSet(vanished))]);
  for (let i = 0; i < view.messages.length; i++) {
    const message = view.messages[i]!;
    if (message.modseq <= params.modseq) continue;
    await session.untagged([i + 1, atom('FETCH'), [atom('UID'), message.uid, atom('FLAGS'), await session.flagsValue(message), atom('MODSEQ'), [message.modseq]]]);
  }
}

async function select(context: CommandContext, mailbox: string, paramTokens: readonly ImapToken[] | undefined, readOnly: boolean): Promise<CommandResult> {
  const { session } = context;
  const params = parseParams(paramTokens);
  if (params.qresync && !session.qresync) failBad('QRESYNC parameter needs ENABLE QRESYNC first');
  const wasSelected = session.selected !== undefined;
  session.closeMailbox();
  session.state = 'authenticated';
  if (wasSelected) await session.status(undefined, 'OK', 'Previous mailbox closed', 'CLOSED');
  if (params.condstore) session.condstore = true;
  let view: SelectedMailbox;
  try {
    view = await session.openMailbox(mailbox, readOnly);
  } catch (error) {
    if (error instanceof MailBackendError) {
      const reply = noReplyFor(error);
      return { kind: 'done' as const, status: 'NO' as const, code: reply.code, text: reply.text, next: 'authenticated' as const };
    }
    throw error;
  }
  await session.announceFlags(view);
  await session.untagged([view.exists, atom('EXISTS')]);
  if (session.rev2) {
    await session.untagged([atom('LIST'), [], hierarchyDelimiter, encodeMailboxName(view.name, session.utf8)]);
  } else {
    await session.untagged([view.recentCount, atom('RECENT')]);
    const firstUnseen = view.messages.findIndex((m) => !m.flags.includes('\\Seen'));
    if (firstUnseen >= 0) await session.status(undefined, 'OK', `Message ${firstUnseen + 1} is the first unseen`, `UNSEEN ${firstUnseen + 1}`);
  }
  await session.status(undefined, 'OK', 'UIDs valid', `UIDVALIDITY ${view.uidValidity}`);
  await session.status(undefined, 'OK', 'Predicted next UID', `UIDNEXT ${view.uidNext}`);
  await session.status(undefined, 'OK', 'Highest mod-sequence', `HIGHESTMODSEQ ${view.highestModseq}`);
  if (params.qresync) await reportQresync(context, view, params.qresync);
  const name = encodeMailboxName(mailbox, session.utf8);
  return ok(`${readOnly ? 'EXAMINE' : 'SELECT'} completed: ${name}`, readOnly ? 'READ-ONLY' : 'READ-WRITE', 'selected');
}

const schema = [
  { name: 'mailbox', kind: 'mailbox' },
  { name: 'parameters', kind: 'list', optional: true },
] as const;

export const selectCommand = defineCommand({
  names: ['SELECT'],
  states: ['authenticated', 'selected'],
  schema,
  handle: (context, { mailbox, parameters }) => select(context, mailbox, parameters, false),
});

export const examineCommand = defineCommand({
  names: ['EXAMINE'],
  states: ['authenticated', 'selected'],
  schema,
  handle: (context, { mailbox, parameters }) => select(context, mailbox, parameters, true),
});
