// CATENATE (RFC 4469): a message assembled from literal text and parts of stored messages named
// by IMAP URLs (RFC 5092), e.g. "/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.MIME". Only this
// user's mailboxes on this server can be named; anything else is NO [BADURL url].
import { MailBackendError } from '../../backend';
import { failBad, failNo } from '../command';
import { partialBytes, sectionBytes, type SectionSpec, type SectionSpecifier } from '../fetch/sections';
import { decodeMailboxName, MailboxNameError } from '../mailboxNames';
import type { ImapToken } from '../parser';
import type { ImapSession } from '../session';
import { Utf7Error } from '../utf7';

interface MessageUrl {
  readonly mailbox: string;
  readonly uidValidity: number | undefined;
  readonly uid: number;
  readonly section: SectionSpec;
  readonly partial: { readonly offset: number; readonly length?: number } | undefined;
}

function parseSection(text: string): SectionSpec | undefined {
  const pieces = text.toUpperCase().split('.');
  const path: number[] = [];
  while (pieces.length > 0 && /^[1-9]\d{0,8}$/.test(pieces[0]!)) path.push(Number(pieces.shift()));
  const specifier = pieces.join('.');
  if (!['', 'HEADER', 'TEXT', 'MIME'].includes(specifier) || (specifier === 'MIME' && path.length === 0)) return undefined;
  return { path, specifier: specifier as SectionSpecifier, fieldNames: [] };
}

/** The parts of a message URL, or undefined when it is not one this server can resolve. */
export function parseMessageUrl(url: string, session: ImapSession): MessageUrl | undefined {
  let path = url;
  const absolute = /^imap:\/\/[^/]*(\/.*)$/i.exec(url);
  if (absolute) path = absolute[1]!;
  if (!path.startsWith('/')) return undefined;
  const [first, ...rest] = path.slice(1).split('/;');
  const [encodedMailbox, ...mailboxParams] = first!.split(';');
  let mailbox: string;
  try {
    mailbox = decodeMailboxName(decodeURIComponent(encodedMailbox!), session.utf8);
  } catch (error) {
    if (error instanceof URIError || error instanceof MailboxNameError || error instanceof Utf7Error) return undefined;
    throw error;
  }
  let uidValidity: number | undefined;
  for (const param of mailboxParams) {
    const match = /^UIDVALIDITY=([1-9]\d{0,9})$/i.exec(param);
    if (!match) return undefined;
    uidValidity = Number(match[1]);
  }
  let uid: number | undefined;
  let section: SectionSpec = { path: [], specifier: '', fieldNames: [] };
  let partial: MessageUrl['partial'];
  for (const part of rest) {
    const [name, value = ''] = part.split('=', 2) as [string, string?];
    const key = name.toUpperCase();
    if (key === 'UID' && /^[1-9]\d{0,9}$/.test(value)) uid = Number(value);
    else if (key === 'SECTION') {
      const parsed = parseSection(decodeURIComponent(value));
      if (!parsed) return undefined;
      section = parsed;
    } else if (key === 'PARTIAL' && /^\d{1,10}(\.[1-9]\d{0,9})?$/.test(value)) {
      const [offset, length] = value.split('.');
      partial = length === undefined ? { offset: Number(offset) } : { offset: Number(offset), length: Number(length) };
    } else return undefined;
  }
  if (uid === undefined || mailbox.length === 0) return undefined;
  return { mailbox, uidValidity, uid, section, partial };
}

async function resolveUrl(session: ImapSession, url: string): Promise<Buffer> {
  const badUrl = (why: string): never => failNo(`CATENATE: ${why}`, `BADURL ${url}`);
  const parsed = parseMessageUrl(url, session);
  if (!parsed) return badUrl(`"${url}" is not an IMAP URL of a message on this server`);
  const user = session.userOrThrow();
  let snapshot;
  try {
    snapshot = await user.openFolder(parsed.mailbox);
  } catch (error) {
    if (error instanceof MailBackendError && error.code === 'NO_SUCH_FOLDER') return badUrl(`mailbox "${parsed.mailbox}" does not exist`);
    throw error;
  }
  if (parsed.uidValidity !== undefined && parsed.uidValidity !== snapshot.folder.uidValidity) return badUrl('the UIDVALIDITY of the URL is not the mailbox\'s');
  const meta = snapshot.messages.find((m) => m.uid === parsed.uid);
  if (!meta) return badUrl(`message UID ${parsed.uid} does not exist in "${parsed.mailbox}"`);
  const { raw, structure } = await session.deps.cache.message(meta.ref, () => user.readMessage(meta.ref));
  const bytes = sectionBytes(raw, structure, parsed.section);
  if (!bytes) return badUrl('the message has no such section');
  return parsed.partial ? partialBytes(bytes, parsed.partial.offset, parsed.partial.length) : bytes;
}

/** The message a CATENATE list describes: TEXT literals and URL parts, in order. */
export async function catenate(session: ImapSession, items: readonly ImapToken[]): Promise<Buffer> {
  if (items.length === 0 || items.length % 2 !== 0) failBad('CATENATE needs (TEXT literal / URL "url" ...)');
  const pieces: Buffer[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const kind = items[i]!;
    const value = items[i + 1]!;
    const name = kind.kind === 'atom' ? kind.value.toUpperCase() : '';
    if (name === 'TEXT' && value.kind === 'string' && value.literal) pieces.push(value.value);
    else if (name === 'URL' && (value.kind === 'string' || (value.kind === 'atom' && !value.section))) {
      pieces.push(await resolveUrl(session, value.kind === 'string' ? value.value.toString('utf8') : value.value));
    } else failBad('CATENATE parts are TEXT {literal} or URL "imap-url"');
  }
  return Buffer.concat(pieces);
}
