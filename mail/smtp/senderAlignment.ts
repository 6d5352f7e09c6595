// Sender alignment on the submission port: the addresses in a message's From: (and Sender:, when
// present) must be the authenticated user's own, so a logged-in user cannot put `From: ceo@...`
// on a mail. The operator chooses what happens to a message that is not aligned: it is refused
// (550 5.7.1), or it goes out with a `Sender:` header naming the authenticated user (RFC 5322
// 3.6.2: the mailbox of the agent responsible for the transmission), earlier Sender: fields removed.
// A message with no From: address gets `From: <user>` (RFC 6409 8.1: a submission agent may add
// it), whatever the policy: that is the user's own address, nothing is claimed on anyone's behalf.
// The inbound MX (unauthenticated Internet mail) is not checked here: that mail is marked instead.
//
// Addresses compare case-insensitively as a whole, as POST addresses do everywhere
// (envelope.ts normalizeAddress): the domain always, the local part because POST user names are.
import { parseAddressList, type MailboxAddress } from '../mime/addresses';
import { findBodyStart, parseHeaderFields, type HeaderField } from '../mime/headers';
import type { SubmitterIdentity } from '../submission';
import { normalizeAddress } from './envelope';
import { lineEndingOf } from './receivedHeader';

/** What the operator chose for a message whose From: is not the user's. */
export type FromPolicy = 'refuse' | 'add-sender';

export const fromPolicies: readonly FromPolicy[] = ['refuse', 'add-sender'];

export type FromAlignment =
  | { readonly kind: 'aligned' }
  /** No From: address at all: the user's is added. */
  | { readonly kind: 'missing' }
  /** `foreign`: the From:/Sender: addresses that are not the user's. */
  | { readonly kind: 'foreign'; readonly foreign: readonly string[] };

/** A header the submission adds, replacing the fields of that name. */
export interface AddedHeader {
  readonly name: 'From' | 'Sender';
  readonly address: string;
}

/** Header fields of the message's top-level header block. */
function topHeader(raw: Uint8Array): HeaderField[] {
  return parseHeaderFields(raw, 0, findBodyStart(raw, 0, raw.length));
}

function addressText(mailbox: MailboxAddress): string {
  return mailbox.domain === undefined ? mailbox.local : `${mailbox.local}@${mailbox.domain}`;
}

function addressesOf(fields: readonly HeaderField[], name: string): string[] {
  return fields
    .filter((f) => f.name === name)
    .flatMap((f) => parseAddressList(f.value))
    .flatMap((a) => (a.kind === 'group' ? a.members : [a]))
    .map(addressText);
}

/** Are the message's From: addresses (and Sender:, if any) all the user's own? */
export function checkFromAlignment(raw: Uint8Array, identity: SubmitterIdentity): FromAlignment {
  const fields = topHeader(raw);
  const from = addressesOf(fields, 'from');
  const own = new Set(identity.sendAs.map(normalizeAddress));
  const foreign = [...from, ...addressesOf(fields, 'sender')].filter((a) => !own.has(normalizeAddress(a)));
  if (foreign.length > 0) return { kind: 'foreign', foreign: [...new Set(foreign)] };
  return from.length === 0 ? { kind: 'missing' } : { kind: 'aligned' };
}

/** What the submission adds for this alignment under this policy (nothing when aligned). */
export function headerToAdd(alignment: FromAlignment, policy: FromPolicy, user: string): AddedHeader | undefined {
  if (alignment.kind === 'missing') return { name: 'From', address: user };
  if (alignment.kind === 'foreign' && policy === 'add-sender') return { name: 'Sender', address: user };
  return undefined;
}

/** Where the message starts once leading lines that begin with white space are skipped. */
function skipLeadingContinuations(raw: Uint8Array): number {
  let start = 0;
  while (start < raw.length && (raw[start] === 0x20 || raw[start] === 0x09)) {
    const newline = raw.indexOf(0x0a, start);
    start = newline < 0 ? raw.length : newline + 1;
  }
  return start;
}

/**
 * The message with its `name` fields replaced by `name: <address>`, first in the header. Lines at
 * the very top that begin with white space continue no field; they are dropped, or they would
 * fold into the added one (`From: <alice>` + ` , ceo@...` reads as two authors; found by fuzzing).
 */
export function withHeader(raw: Uint8Array, header: AddedHeader): Uint8Array {
  const message = raw.subarray(skipLeadingContinuations(raw));
  const name = header.name.toLowerCase();
  const parts: Uint8Array[] = [Buffer.from(`${header.name}: <${header.address}>${lineEndingOf(raw)}`, 'utf8')];
  let pos = 0;
  for (const field of topHeader(message)) {
    if (field.name !== name) continue;
    parts.push(message.subarray(pos, field.start));
    pos = field.end;
  }
  parts.push(message.subarray(pos));
  return Buffer.concat(parts);
}
