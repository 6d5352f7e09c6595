// Builds the data items of one FETCH response. Message content is loaded only when an item needs
// it; section bytes are views into the cached raw message, written as literals without copying.
import { atom, type ImapValue } from '../encoder';
import { formatInternalDate } from '../dateTime';
import type { LoadedMessage } from '../messageCache';
import { isShowableFlag, type ViewMessage } from '../selectedMailbox';
import type { ImapSession } from '../session';
import { bodyStructureValue } from './bodyStructure';
import { envelopeValue } from './envelope';
import type { FetchItem } from './fetchItems';
import { binaryBytes, partialBytes, sectionBytes } from './sections';

const contentItems = new Set(['ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT']);

export function needsContent(items: readonly FetchItem[]): boolean {
  return items.some((item) => item.kind === 'section' || contentItems.has(item.name));
}

/** Items that mark the message \Seen when fetched (RFC 3501 6.4.5). */
export function setsSeen(items: readonly FetchItem[]): boolean {
  return items.some((item) => (item.kind === 'section' ? !item.peek : item.name === 'RFC822' || item.name === 'RFC822.TEXT'));
}

export interface FetchOptions {
  /** UID FETCH: UID is always returned. */
  readonly uid: boolean;
  /** Add FLAGS even if not asked (flags changed by this fetch). */
  readonly addFlags: boolean;
  /** Add MODSEQ even if not asked (CHANGEDSINCE, or CONDSTORE with changed flags). */
  readonly addModseq: boolean;
}

/** Adds `name value` unless the name was given already (a client may ask for an item twice). */
function pushOnce(out: ImapValue[], name: string, value: ImapValue): void {
  for (let i = 0; i < out.length; i += 2) if ((out[i] as { atom: string }).atom === name) return;
  out.push(atom(name), value);
}

/** Whether the response carries FLAGS: the caller announces new keywords first (ImapSession.announceKeywordsOf). */
export function showsFlags(items: readonly FetchItem[], options: FetchOptions): boolean {
  return options.addFlags || items.some((item) => item.kind === 'simple' && item.name === 'FLAGS');
}

/**
 * The data items of one FETCH response, synchronously: `loaded` is the message's content when
 * needsContent(items), and new keywords were announced before (so a 100,000-message FETCH FLAGS
 * takes no await per message).
 */
export function fetchValues(session: ImapSession, message: ViewMessage, items: readonly FetchItem[], loaded: LoadedMessage | undefined, options: FetchOptions): ImapValue[] {
  const out: ImapValue[] = [];
  if (options.uid) out.push(atom('UID'), message.uid);
  for (const item of items) {
    if (item.kind === 'section') {
      const bytes = item.binary === 'none' ? sectionBytes(loaded!.raw, loaded!.structure, item.spec) : binaryBytes(loaded!.raw, loaded!.structure, item.spec.path);
      if (item.binary === 'size') {
        pushOnce(out, item.label, bytes?.length ?? 0);
        continue;
      }
      const value = bytes === undefined ? null : item.partial ? partialBytes(bytes, item.partial.offset, item.partial.length) : bytes;
      // Decoded content may hold NUL: then only a literal8 can carry it (RFC 3516 4.2).
      pushOnce(out, item.label, value !== null && item.binary === 'content' && value.includes(0) ? { literal8: value } : value);
      continue;
    }
    switch (item.name) {
      case 'UID':
        pushOnce(out, 'UID', message.uid);
        break;
      case 'FLAGS':
        pushOnce(out, 'FLAGS', session.flagAtoms(message));
        break;
      case 'INTERNALDATE':
        pushOnce(out, 'INTERNALDATE', formatInternalDate(message.internalDateMs));
        break;
      case 'RFC822.SIZE':
        pushOnce(out, 'RFC822.SIZE', message.sizeOctets);
        break;
      case 'MODSEQ':
        pushOnce(out, 'MODSEQ', [message.modseq]);
        break;
      case 'ENVELOPE':
        pushOnce(out, 'ENVELOPE', envelopeValue(loaded!.structure.fields ?? []));
        break;
      case 'BODY':
        pushOnce(out, 'BODY', bodyStructureValue(loaded!.structure, false));
        break;
      case 'BODYSTRUCTURE':
        pushOnce(out, 'BODYSTRUCTURE', bodyStructureValue(loaded!.structure, true));
        break;
      case 'RFC822':
        pushOnce(out, 'RFC822', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: '', fieldNames: [] }) ?? null);
        break;
      case 'RFC822.HEADER':
        pushOnce(out, 'RFC822.HEADER', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: 'HEADER', fieldNames: [] }) ?? null);
        break;
      case 'RFC822.TEXT':
        pushOnce(out, 'RFC822.TEXT', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: 'TEXT', fieldNames: [] }) ?? null);
        break;
    }
  }
  if (options.addFlags) pushOnce(out, 'FLAGS', session.flagAtoms(message));
  if (options.addModseq) pushOnce(out, 'MODSEQ', [message.modseq]);
  return out;
}

/** One message's FETCH values, loading its content and announcing new keywords first as needed (a few messages, e.g. NOTIFY's MessageNew). */
export async function fetchItemsFor(session: ImapSession, message: ViewMessage, items: readonly FetchItem[], options: FetchOptions): Promise<ImapValue[]> {
  const loaded = needsContent(items) ? await session.loadMessage(message) : undefined;
  if (showsFlags(items, options)) await session.announceKeywordsOf(message);
  return fetchValues(session, message, items, loaded, options);
}

const METADATA_ITEMS = new Set<string>(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'MODSEQ']);

/** Every item is message metadata (no content): metadataFetchLine can write the responses. */
export function metadataOnly(items: readonly FetchItem[]): boolean {
  return items.every((item) => item.kind === 'simple' && METADATA_ITEMS.has(item.name));
}

/** The showable flags of a flags array, space separated: once per array (a view shares one array per flag set). */
const flagsTexts = new WeakMap<readonly string[], string>();
function showableFlagsText(flags: readonly string[]): string {
  let text = flagsTexts.get(flags);
  if (text === undefined) {
    text = flags.filter(isShowableFlag).join(' ');
    flagsTexts.set(flags, text);
  }
  return text;
}

function metadataValue(session: ImapSession, message: ViewMessage, name: string): string {
  switch (name) {
    case 'UID':
      return String(message.uid);
    case 'FLAGS': {
      const flags = showableFlagsText(message.flags);
      return message.recent && !session.rev2 ? `(${flags}${flags ? ' ' : ''}\\Recent)` : `(${flags})`;
    }
    case 'INTERNALDATE':
      return `"${formatInternalDate(message.internalDateMs)}"`;
    case 'RFC822.SIZE':
      return String(message.sizeOctets);
    default:
      return `(${message.modseq})`;
  }
}

/** The item names of a metadata-only FETCH response, in fetchValues' order, each once. */
export function metadataNames(items: readonly FetchItem[], options: FetchOptions): string[] {
  const names: string[] = options.uid ? ['UID'] : [];
  for (const item of items) if (item.kind === 'simple' && !names.includes(item.name)) names.push(item.name);
  if (options.addFlags && !names.includes('FLAGS')) names.push('FLAGS');
  if (options.addModseq && !names.includes('MODSEQ')) names.push('MODSEQ');
  return names;
}

/**
 * The FETCH response of metadata-only items (`names` from metadataNames) as text, byte for byte what
 * encodeUntagged makes of fetchValues' values (a test holds them equal), without building them:
 * FETCH 1:* (FLAGS) of a 100,000-message folder is what a client sends on opening it. Announce new
 * keywords first.
 */
export function metadataFetchLine(session: ImapSession, seq: number, message: ViewMessage, names: readonly string[]): string {
  let line = `* ${seq} FETCH (`;
  for (let i = 0; i < names.length; i++) line += `${i > 0 ? ' ' : ''}${names[i]} ${metadataValue(session, message, names[i]!)}`;
  return `${line})\r\n`;
}
