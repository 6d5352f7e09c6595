// Builds the data items of one FETCH response. Message content is loaded only when an item needs
// it; section bytes are views into the cached raw message, written as literals without copying.
import { atom, type ImapValue } from '../encoder';
import { formatInternalDate } from '../dateTime';
import type { LoadedMessage } from '../messageCache';
import type { ViewMessage } from '../selectedMailbox';
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

export async function fetchItemsFor(session: ImapSession, message: ViewMessage, items: readonly FetchItem[], options: FetchOptions): Promise<ImapValue[]> {
  const loaded: LoadedMessage | undefined = needsContent(items) ? await session.loadMessage(message) : undefined;
  const out: ImapValue[] = [];
  const emitted = new Set<string>();
  const push = (name: string, value: ImapValue): void => {
    if (emitted.has(name)) return;
    emitted.add(name);
    out.push(atom(name), value);
  };
  if (options.uid) push('UID', message.uid);
  for (const item of items) {
    if (item.kind === 'section') {
      const bytes = item.binary === 'none' ? sectionBytes(loaded!.raw, loaded!.structure, item.spec) : binaryBytes(loaded!.raw, loaded!.structure, item.spec.path);
      if (item.binary === 'size') {
        push(item.label, bytes?.length ?? 0);
        continue;
      }
      const value = bytes === undefined ? null : item.partial ? partialBytes(bytes, item.partial.offset, item.partial.length) : bytes;
      // Decoded content may hold NUL: then only a literal8 can carry it (RFC 3516 4.2).
      push(item.label, value !== null && item.binary === 'content' && value.includes(0) ? { literal8: value } : value);
      continue;
    }
    switch (item.name) {
      case 'UID':
        push('UID', message.uid);
        break;
      case 'FLAGS':
        push('FLAGS', await session.flagsValue(message));
        break;
      case 'INTERNALDATE':
        push('INTERNALDATE', formatInternalDate(message.internalDateMs));
        break;
      case 'RFC822.SIZE':
        push('RFC822.SIZE', message.sizeOctets);
        break;
      case 'MODSEQ':
        push('MODSEQ', [message.modseq]);
        break;
      case 'ENVELOPE':
        push('ENVELOPE', envelopeValue(loaded!.structure.fields ?? []));
        break;
      case 'BODY':
        push('BODY', bodyStructureValue(loaded!.structure, false));
        break;
      case 'BODYSTRUCTURE':
        push('BODYSTRUCTURE', bodyStructureValue(loaded!.structure, true));
        break;
      case 'RFC822':
        push('RFC822', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: '', fieldNames: [] }) ?? null);
        break;
      case 'RFC822.HEADER':
        push('RFC822.HEADER', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: 'HEADER', fieldNames: [] }) ?? null);
        break;
      case 'RFC822.TEXT':
        push('RFC822.TEXT', sectionBytes(loaded!.raw, loaded!.structure, { path: [], specifier: 'TEXT', fieldNames: [] }) ?? null);
        break;
    }
  }
  if (options.addFlags && !emitted.has('FLAGS')) push('FLAGS', await session.flagsValue(message));
  if (options.addModseq) push('MODSEQ', [message.modseq]);
  return out;
}
