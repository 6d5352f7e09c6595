// Raw message bytes, parsed MIME structures and SORT/THREAD keys, shared by every session of a
// server and keyed by content reference (copies of one message share an entry). The caches are LRU
// and bounded: raw bytes by total size, structures and sort keys by count. Concurrent loads of one
// reference share a promise.
import { parseMessageStructure, type MimeEntity } from '../mime/structure';
import { imapLimits } from './limits';
import { cachedSearchValues, type CachedSearchField } from './search/messageText';
import { sortKeysOf, type SortKeys } from './sort/sortKeys';

export interface LoadedMessage {
  readonly raw: Uint8Array;
  readonly structure: MimeEntity;
}

export class MessageCache {
  private readonly raws = new Map<string, Uint8Array>();
  private rawBytes = 0;
  private readonly structures = new Map<string, MimeEntity>();
  private readonly loading = new Map<string, Promise<Uint8Array>>();
  private readonly sortKeyEntries = new Map<string, SortKeys>();
  private readonly headerSearchEntries = new Map<string, Record<CachedSearchField, string[]>>();
  private readonly headerSearchLoading = new Map<string, Promise<Record<CachedSearchField, string[]>>>();

  constructor(
    /** Raw bytes kept at most: a search over a folder bigger than this reads past the cache (rawPassing). */
    readonly rawBytesMax: number = imapLimits.messageCacheBytesMax,
    private readonly structuresMax: number = imapLimits.structureCacheEntriesMax,
    private readonly sortKeysMax: number = imapLimits.sortKeyCacheEntriesMax,
    private readonly headerSearchMax: number = imapLimits.headerSearchCacheEntriesMax,
  ) {}

  /**
   * What SEARCH SUBJECT/FROM/TO/CC/BCC look in for a message (messageText.ts cachedSearchValues). On a
   * miss the raw bytes are read (the raw cache serves them when it has them) but not kept for this.
   */
  async headerSearch(ref: string, load: () => Promise<Uint8Array>): Promise<Record<CachedSearchField, string[]>> {
    const cached = this.headerSearchEntries.get(ref);
    if (cached) return cached;
    let pending = this.headerSearchLoading.get(ref);
    if (!pending) {
      // A read ahead and the search's own read of one message share the load.
      pending = (async () => cachedSearchValues(this.raws.get(ref) ?? (await (this.loading.get(ref) ?? load()))))().finally(() => this.headerSearchLoading.delete(ref));
      this.headerSearchLoading.set(ref, pending);
    }
    return remember(this.headerSearchEntries, ref, await pending, this.headerSearchMax);
  }

  /** Sort keys when cached, without loading anything (the fast path of SORT over a big folder). */
  cachedSortKeys(ref: string): SortKeys | undefined {
    return this.sortKeyEntries.get(ref);
  }

  /**
   * A message's SORT/THREAD keys. On a miss only the header is read, and the raw bytes are not
   * kept (a SORT over 100,000 messages must not flush the raw cache).
   */
  async sortKeys(ref: string, load: () => Promise<Uint8Array>): Promise<SortKeys> {
    const cached = this.sortKeyEntries.get(ref);
    if (cached) return cached;
    const raw = this.raws.get(ref) ?? (await (this.loading.get(ref) ?? load()));
    return remember(this.sortKeyEntries, ref, sortKeysOf(raw), this.sortKeysMax);
  }

  async raw(ref: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.raws.get(ref);
    if (cached) {
      this.raws.delete(ref);
      this.raws.set(ref, cached);
      return cached;
    }
    let pending = this.loading.get(ref);
    if (!pending) {
      pending = load().finally(() => this.loading.delete(ref));
      this.loading.set(ref, pending);
    }
    const raw = await pending;
    this.rememberRaw(ref, raw);
    return raw;
  }

  /**
   * The raw bytes for a read that passes through a folder bigger than this cache (SEARCH BODY of a
   * 100,000-message folder): what is cached or already loading is shared, but a miss is not kept.
   * Keeping it would only push out what other sessions use and promote every message the scan read
   * into the old generation of the heap, for the garbage collector to trace (about a third of such
   * a scan's time).
   */
  rawPassing(ref: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const cached = this.raws.get(ref);
    return cached ? Promise.resolve(cached) : (this.loading.get(ref) ?? load());
  }

  /** The parsed structure of `raw` (the bytes of `ref`): cached when it is, parsed and not kept otherwise. */
  structurePassing(ref: string, raw: Uint8Array): MimeEntity {
    return this.structures.get(ref) ?? parseMessageStructure(raw);
  }

  /** Parsed structure; parses (and caches the raw bytes) on a miss. */
  async structure(ref: string, load: () => Promise<Uint8Array>): Promise<MimeEntity> {
    const cached = this.structures.get(ref);
    if (cached) {
      this.structures.delete(ref);
      this.structures.set(ref, cached);
      return cached;
    }
    const raw = await this.raw(ref, load);
    return this.rememberStructure(ref, raw);
  }

  async message(ref: string, load: () => Promise<Uint8Array>): Promise<LoadedMessage> {
    const raw = await this.raw(ref, load);
    const structure = this.structures.get(ref) ?? this.rememberStructure(ref, raw);
    return { raw, structure };
  }

  private rememberStructure(ref: string, raw: Uint8Array): MimeEntity {
    return remember(this.structures, ref, parseMessageStructure(raw), this.structuresMax);
  }

  /** Bytes the server already has (an APPEND): later reads of `ref` need no storage read. */
  remember(ref: string, raw: Uint8Array): void {
    this.rememberRaw(ref, raw);
  }

  private rememberRaw(ref: string, raw: Uint8Array): void {
    if (this.raws.has(ref) || raw.length > this.rawBytesMax / 4) return; // huge messages are not cached
    this.raws.set(ref, raw);
    this.rawBytes += raw.length;
    while (this.rawBytes > this.rawBytesMax) {
      const oldest = this.raws.keys().next().value!;
      this.rawBytes -= this.raws.get(oldest)!.length;
      this.raws.delete(oldest);
    }
  }
}

/**
 * Keeps `value` under `key`, forgetting the oldest entries beyond `max`. Insertion order is age: a hit
 * does not reorder (too costly per message for the per-message keys of a big folder).
 */
function remember<V>(entries: Map<string, V>, key: string, value: V, max: number): V {
  entries.set(key, value);
  while (entries.size > max) entries.delete(entries.keys().next().value!);
  return value;
}
