// One folder of the in-memory backend: messages by UID, modseq counter, expunge tombstones for
// QRESYNC, the \Recent watermark, and the watchers that receive its change feed.
import type { FlagUpdate, FlagUpdateResult, FolderChange, FolderInfo, MessageMeta, SpecialUse } from '../backend';

export interface StoredMessage {
  uid: number;
  flags: string[];
  internalDateMs: number;
  modseq: number;
  sizeOctets: number;
  ref: string;
}

function sameFlag(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export class MemoryFolder {
  readonly messages = new Map<number, StoredMessage>();
  readonly tombstones: { uid: number; modseq: number }[] = [];
  readonly watchers = new Set<(change: FolderChange) => void>();
  uidNext = 1;
  highestModseq = 1;
  recentWatermarkUid = 0;

  constructor(
    public name: string,
    readonly uidValidity: number,
    public specialUse: SpecialUse | undefined,
  ) {}

  info(subscribed: boolean): FolderInfo {
    const base = {
      name: this.name,
      uidValidity: this.uidValidity,
      uidNext: this.uidNext,
      highestModseq: this.highestModseq,
      subscribed,
    };
    return this.specialUse ? { ...base, specialUse: this.specialUse } : base;
  }

  sorted(): StoredMessage[] {
    return [...this.messages.values()].sort((a, b) => a.uid - b.uid);
  }

  meta(message: StoredMessage): MessageMeta {
    return { ...message, flags: [...message.flags] };
  }

  private emit(change: FolderChange): void {
    for (const watcher of [...this.watchers]) {
      try {
        watcher(change);
      } catch {
        // A watcher must not throw; one that does loses only its own notification.
      }
    }
  }

  add(ref: string, sizeOctets: number, flags: readonly string[], internalDateMs: number): StoredMessage {
    const message: StoredMessage = {
      uid: this.uidNext++,
      flags: dedupeFlags(flags),
      internalDateMs,
      modseq: ++this.highestModseq,
      sizeOctets,
      ref,
    };
    this.messages.set(message.uid, message);
    this.emit({ kind: 'added', message: this.meta(message) });
    return message;
  }

  storeFlags(uids: readonly number[], update: FlagUpdate): FlagUpdateResult {
    const changed: { uid: number; flags: string[]; modseq: number }[] = [];
    const failed: number[] = [];
    for (const uid of uids) {
      const message = this.messages.get(uid);
      if (!message) continue;
      if (update.unchangedSince !== undefined && message.modseq > update.unchangedSince) {
        failed.push(uid);
        continue;
      }
      const next = applyFlagUpdate(message.flags, update);
      if (sameFlagSet(next, message.flags)) continue;
      message.flags = next;
      message.modseq = ++this.highestModseq;
      changed.push({ uid, flags: [...next], modseq: message.modseq });
      this.emit({ kind: 'flags', uid, flags: [...next], modseq: message.modseq });
    }
    return { changed, failed };
  }

  remove(uids: readonly number[]): number[] {
    const removed = uids.filter((uid) => this.messages.delete(uid)).sort((a, b) => a - b);
    if (removed.length === 0) return removed;
    const modseq = ++this.highestModseq;
    for (const uid of removed) this.tombstones.push({ uid, modseq });
    this.emit({ kind: 'expunged', uids: removed, modseq });
    return removed;
  }

  gone(): void {
    this.emit({ kind: 'gone' });
    this.watchers.clear();
  }
}

export function dedupeFlags(flags: readonly string[]): string[] {
  const result: string[] = [];
  for (const flag of flags) if (!result.some((f) => sameFlag(f, flag))) result.push(flag);
  return result;
}

function applyFlagUpdate(current: readonly string[], update: FlagUpdate): string[] {
  if (update.mode === 'replace') return dedupeFlags(update.flags);
  if (update.mode === 'add') return dedupeFlags([...current, ...update.flags]);
  return current.filter((flag) => !update.flags.some((f) => sameFlag(f, flag)));
}

function sameFlagSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((flag) => b.some((f) => sameFlag(f, flag)));
}
