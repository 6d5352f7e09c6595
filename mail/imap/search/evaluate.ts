// Evaluates a SEARCH program against one message of the view. Content is loaded only for keys that
// need it (headers, body, text, sent date), once per message.
import { parseDateHeader } from '../../mime/dateHeader';
import { dayOfInstant } from '../dateTime';
import { hasFlag } from '../flags';
import type { LoadedMessage } from '../messageCache';
import type { ViewMessage } from '../selectedMailbox';
import { sequenceSetContains } from '../sequenceSet';
import { bodyText, type CachedSearchField, headerBlockText, headerCertainlyLacks, headerSearchValues, headerValues, isCachedSearchField, rawSearchVerdict } from './messageText';
import type { DateOp, SearchKey } from './searchProgram';

/** Where a search reads content from: one object per search, not closures per message. */
export interface SearchContent {
  load(message: ViewMessage): Promise<LoadedMessage>;
  /** The raw bytes only (no MIME parsing). */
  loadRaw(message: ViewMessage): Promise<Uint8Array>;
  /** The search values of the common header fields, cached per message (a big folder's SUBJECT search reads nothing again). */
  headerSearch(message: ViewMessage): Promise<Record<CachedSearchField, string[]>>;
}

export interface SearchSubject {
  readonly seq: number;
  readonly message: ViewMessage;
  /** Messages in the mailbox ("*" in a sequence set). */
  readonly exists: number;
  /** Largest UID in the mailbox ("*" in a UID set). */
  readonly largestUid: number;
  /** The clock's now, for WITHIN. */
  readonly nowMs: number;
  /** UIDs of the saved search result ("$"). */
  readonly saved: ReadonlySet<number>;
}

function compareDay(day: number, op: DateOp, target: number): boolean {
  if (op === 'before') return day < target;
  if (op === 'on') return day === target;
  return day >= target;
}

function contains(haystack: string, needle: string): boolean {
  return haystack.toLowerCase().includes(needle.toLowerCase());
}

/**
 * What evaluating `key` reads of each message: nothing (flags, sizes, dates it already has), the
 * cached search values of the common header fields, or the content (other headers, bodies).
 */
export function messageNeeds(key: SearchKey): 'nothing' | 'headers' | 'content' {
  switch (key.k) {
    case 'header':
      return isCachedSearchField(key.field) ? 'headers' : 'content';
    case 'body':
    case 'text':
    case 'sentDate':
      return 'content';
    case 'not':
      return messageNeeds(key.key);
    case 'or':
      return most([messageNeeds(key.a), messageNeeds(key.b)]);
    case 'and':
      return most(key.keys.map(messageNeeds));
    default:
      return 'nothing';
  }
}

const most = (needs: readonly ('nothing' | 'headers' | 'content')[]) => (needs.includes('content') ? 'content' : needs.includes('headers') ? 'headers' : 'nothing');

/**
 * A key that reads nothing of the message's content (messageNeeds(key) === 'nothing'), evaluated
 * synchronously: a search of flags, sizes, dates or sets over a big folder takes no await per message.
 */
export function matchesMetadata(key: SearchKey, subject: SearchSubject): boolean {
  const { message } = subject;
  switch (key.k) {
    case 'all':
      return true;
    case 'flag':
      return hasFlag(message.flags, key.flag) === key.present;
    case 'recent':
      return message.recent === key.present;
    case 'new':
      return message.recent && !hasFlag(message.flags, '\\Seen');
    case 'size':
      return key.larger ? message.sizeOctets > key.octets : message.sizeOctets < key.octets;
    case 'internalDate':
      return compareDay(dayOfInstant(message.internalDateMs), key.op, key.day);
    case 'modseq':
      return message.modseq >= key.modseq;
    case 'seqSet':
      return sequenceSetContains(key.set, subject.seq, subject.exists);
    case 'uidSet':
      return sequenceSetContains(key.set, message.uid, subject.largestUid);
    case 'saved':
      return subject.saved.has(message.uid);
    case 'age': {
      const ageSeconds = (subject.nowMs - message.internalDateMs) / 1000;
      return key.younger ? ageSeconds <= key.seconds : ageSeconds >= key.seconds;
    }
    case 'not':
      return !matchesMetadata(key.key, subject);
    case 'or':
      return matchesMetadata(key.a, subject) || matchesMetadata(key.b, subject);
    case 'and':
      for (const inner of key.keys) if (!matchesMetadata(inner, subject)) return false;
      return true;
    case 'sentDate':
    case 'header':
    case 'body':
    case 'text':
      throw new Error(`search key ${key.k} reads content: use matchesSearch`);
  }
}

class Evaluation {
  private loaded: LoadedMessage | undefined;
  private body: string | undefined;
  constructor(
    private readonly subject: SearchSubject,
    private readonly reader: SearchContent,
  ) {}

  private async content(): Promise<LoadedMessage> {
    this.loaded ??= await this.reader.load(this.subject.message);
    return this.loaded;
  }

  private async bodyText(): Promise<string> {
    if (this.body === undefined) {
      const { raw, structure } = await this.content();
      this.body = bodyText(raw, structure);
    }
    return this.body;
  }

  async matches(key: SearchKey): Promise<boolean> {
    const { message } = this.subject;
    switch (key.k) {
      case 'sentDate': {
        const { raw, structure } = await this.content();
        const date = headerValues(raw, structure, 'date')[0];
        const day = (date === undefined ? undefined : parseDateHeader(date)?.days) ?? dayOfInstant(message.internalDateMs);
        return compareDay(day, key.op, key.day);
      }
      case 'header': {
        if (!this.loaded && isCachedSearchField(key.field)) {
          const cached = (await this.reader.headerSearch(message))[key.field];
          return key.value.length === 0 ? cached.length > 0 : cached.some((v) => contains(v, key.value));
        }
        if (!this.loaded && key.value.length > 0 && headerCertainlyLacks(await this.reader.loadRaw(message), key.value)) return false;
        const { raw, structure } = await this.content();
        const values = headerSearchValues(raw, structure, key.field);
        if (key.value.length === 0) return values.length > 0;
        return values.some((v) => contains(v, key.value));
      }
      case 'body': {
        const verdict = this.loaded ? undefined : rawSearchVerdict(await this.reader.loadRaw(message), key.value, true);
        return verdict ?? contains(await this.bodyText(), key.value);
      }
      case 'text': {
        const verdict = this.loaded ? undefined : rawSearchVerdict(await this.reader.loadRaw(message), key.value, false);
        if (verdict !== undefined) return verdict;
        const { raw, structure } = await this.content();
        return contains(headerBlockText(raw, structure), key.value) || contains(await this.bodyText(), key.value);
      }
      case 'not':
        return !(await this.matches(key.key));
      case 'or':
        return (await this.matches(key.a)) || (await this.matches(key.b));
      case 'and':
        for (const inner of key.keys) if (!(await this.matches(inner))) return false;
        return true;
      default:
        return matchesMetadata(key, this.subject);
    }
  }
}

/** Any key; content is read through `reader`, at most once per message. */
export function matchesSearch(key: SearchKey, subject: SearchSubject, reader: SearchContent): Promise<boolean> {
  return new Evaluation(subject, reader).matches(key);
}
