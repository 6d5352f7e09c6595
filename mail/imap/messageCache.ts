// Raw message bytes and parsed MIME structures, shared by every session of a server and keyed by
// content reference (copies of one message share an entry). Both caches are LRU and bounded:
// raw bytes by total size, structures by count. Concurrent loads of one reference share a promise.
import { parseMessageStructure, type MimeEntity } from '../mime/structure';
import { imapLimits } from './limits';

export interface LoadedMessage {
  readonly raw: Uint8Array;
  readonly structure: MimeEntity;
}

export class MessageCache {
  private readonly raws = new Map<string, Uint8Array>();
  private rawBytes = 0;
  private readonly structures = new Map<string, MimeEntity>();
  private readonly loading = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly rawBytesMax: number = imapLimits.messageCacheBytesMax,
    private readonly structuresMax: number = imapLimits.structureCacheEntriesMax,
  ) {}

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
    const structure = parseMessageStructure(raw);
    this.structures.set(ref, structure);
    while (this.structures.size > this.structuresMax) this.structures.delete(this.structures.keys().next().value!);
    return structure;
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
