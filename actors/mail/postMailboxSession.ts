// One authenticated session (an IMAP connection) over a user's folder logs: MailUserSession of
// mail/backend.ts. Folder management goes through the folder index log, messages through each folder's
// log; message bytes are stored convergently by parts (putMail of the raw MIME bytes cut by
// mail/mime/messageSegments.ts: a large body converges with the same body in any other message) and
// referenced by their formatted BlockRef; readMessage reads any reference back whole. Several
// operations on one log from any number of sessions are grouped by the log writer into few head writes.
import { chunks } from '../../infra/chunks';
import {
  type AppendResult,
  type CopyResult,
  type ExpungeResult,
  type FlagUpdate,
  type FlagUpdateResult,
  type FolderChange,
  type FolderInfo,
  type FolderListChange,
  type FolderSnapshot,
  type FolderStatus,
  type FolderWatch,
  MailBackendError,
  type MailUserSession,
  type MessageRef,
  type RecentClaim,
  type StorageQuota,
} from '../../mail/backend';
import { messageSegments } from '../../mail/mime/messageSegments';
import { FOLDER_OP_UIDS_MAX, MAILBOX_HEAD_READS_IN_FLIGHT_MAX } from '../../protocol/limits';
import { formatBlockRef, parseBlockRef } from '../../storage/blocks';
import { DELETED, hasFlag } from '../../storage/folders/flags';
import type { FolderEntry, FolderIndexOp } from '../../storage/folders/folderIndexOps';
import { appendInsertKey, type FolderLog, INBOX, insertOp, uidValidityOf } from '../../storage/folders/folderLogs';
import type { FolderOp } from '../../storage/folders/folderOps';
import type { FolderMessage } from '../../storage/folders/folderState';
import { decodeBlockRef } from '../../storage/blocks';
import { checkFolderName, guarded, parentNames } from './postMailboxErrors';
import type { UserMailbox } from './postMailboxUser';
import { byFolderOrder, folderInfoOf, messageMetaOf } from './postMailboxViews';

const isInferior = (name: string, of: string) => name.startsWith(`${of}/`);

async function mapWindow<T, R>(items: readonly T[], window: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker));
  return out;
}

export class PostMailboxSession implements MailUserSession {
  private closed = false;
  private readonly watches = new Set<() => void>();
  /**
   * Folder id -> the UID epoch of the folder when this session last opened it (SELECT): the numbering
   * the client's UIDs are in. Flag changes and expunges carry it, so a fork's merge that renumbers the
   * folder before they apply (a retried or queued write) makes them change nothing rather than act on
   * other messages; the session itself ends (FolderChange 'renumbered').
   */
  private readonly uidEpochs = new Map<string, number>();

  constructor(
    private readonly mailbox: UserMailbox,
    private readonly onClose: () => void,
  ) {}

  get username(): string {
    return this.mailbox.user.address;
  }

  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new MailBackendError('CANNOT', 'the session is closed'));
    return guarded(work);
  }

  /** The numbering the client's UIDs for this folder are in: the one it opened, else the folder's now. */
  private uidEpochOf(entry: FolderEntry, log: FolderLog): number {
    return this.uidEpochs.get(entry.folderId) ?? log.summary.uidEpoch;
  }

  private info(entry: FolderEntry, fresh = false): Promise<FolderInfo> {
    return this.mailbox.summary(entry, fresh).then((summary) => folderInfoOf(entry, summary, this.mailbox.isSubscribed(entry.name)));
  }

  // ---- folders -------------------------------------------------------------------------------------

  listFolders(): Promise<readonly FolderInfo[]> {
    return this.run(async () => {
      this.mailbox.freshIndex();
      const entries = this.mailbox.entries().sort(byFolderOrder);
      return mapWindow(entries, MAILBOX_HEAD_READS_IN_FLIGHT_MAX, (entry) => this.info(entry));
    });
  }

  listSubscriptions(): Promise<readonly string[]> {
    return this.run(async () => this.mailbox.subscriptions());
  }

  /** Create `name` and its missing superiors in one index write; the outcome of `name`'s own create. */
  private async createWithParents(name: string): Promise<FolderEntry> {
    const ops: FolderIndexOp[] = [...parentNames(name), name]
      .filter((n) => !this.mailbox.entry(n))
      .map((n) => ({ type: 'create', name: n, folderId: this.mailbox.newFolderId() }));
    const results = await this.mailbox.index.append(ops);
    const own = results.at(-1)?.change;
    if (!own || own.type !== 'create' || own.outcome === 'exists') throw new MailBackendError('FOLDER_EXISTS', `folder "${name}" already exists`);
    if (own.outcome === 'limit') throw new MailBackendError('LIMIT', 'too many folders; delete some first');
    if (own.outcome !== 'created') throw new MailBackendError('UNAVAILABLE', `folder "${name}" could not be created (${own.outcome}); try again`);
    return own.entry!;
  }

  createFolder(name: string): Promise<FolderInfo> {
    return this.run(async () => {
      checkFolderName(name);
      if (this.mailbox.entry(name)) throw new MailBackendError('FOLDER_EXISTS', `folder "${name}" already exists`);
      return this.info(await this.createWithParents(name));
    });
  }

  renameFolder(from: string, to: string): Promise<void> {
    return this.run(async () => {
      const source = await this.mailbox.requireEntry(from);
      checkFolderName(to);
      if (from === to) throw new MailBackendError('CANNOT', 'a folder cannot be renamed to its own name');
      if (this.mailbox.entry(to)) throw new MailBackendError('FOLDER_EXISTS', `folder "${to}" already exists`);
      if (isInferior(to, from)) throw new MailBackendError('CANNOT', 'a folder cannot be moved inside itself');
      if (from === INBOX) return this.renameInbox(source, to);
      const ops: FolderIndexOp[] = parentNames(to)
        .filter((n) => !this.mailbox.entry(n))
        .map((n) => ({ type: 'create', name: n, folderId: this.mailbox.newFolderId() }));
      ops.push({ type: 'rename', from, to, folderId: source.folderId });
      const change = (await this.mailbox.index.append(ops)).at(-1)!.change;
      if (change.type !== 'rename' || change.outcome === 'missing') throw new MailBackendError('NO_SUCH_FOLDER', `folder "${from}" does not exist`);
      if (change.outcome === 'exists') throw new MailBackendError('FOLDER_EXISTS', `a folder under "${to}" already exists`);
    });
  }

  /** RFC 3501 6.3.5: INBOX's messages move to a new folder; INBOX stays, empty. Copy first, so a crash duplicates rather than loses. */
  private async renameInbox(inbox: FolderEntry, to: string): Promise<void> {
    const target = await this.createWithParents(to);
    const source = await this.mailbox.folder(inbox, true);
    const [messages, uidEpoch] = await source.read((s) => [[...s.messages.values()], s.uidEpoch] as const);
    const destination = await this.mailbox.folder(target);
    // The messages keep their insert keys: a retried rename does not copy twice.
    await destination.append(messages.map((m) => copyOp(m, m.key)));
    await expungeAll(source, messages.map((m) => m.uid), uidEpoch);
  }

  deleteFolder(name: string): Promise<void> {
    return this.run(async () => {
      if (name === INBOX) throw new MailBackendError('CANNOT', 'INBOX cannot be deleted');
      const entry = await this.mailbox.requireEntry(name);
      if (this.mailbox.entries().some((e) => isInferior(e.name, name))) {
        throw new MailBackendError('FOLDER_HAS_CHILDREN', `folder "${name}" has subfolders; delete them first`);
      }
      const [r] = await this.mailbox.index.append([{ type: 'delete', name, folderId: entry.folderId }]);
      if (r!.change.type !== 'delete' || r!.change.outcome !== 'deleted') throw new MailBackendError('NO_SUCH_FOLDER', `folder "${name}" does not exist`);
    });
  }

  setSubscribed(name: string, subscribed: boolean): Promise<void> {
    return this.run(async () => {
      const [r] = await this.mailbox.index.append([{ type: 'subscribe', name, subscribed }]);
      if (r!.change.type === 'subscribe' && r!.change.outcome === 'limit') throw new MailBackendError('LIMIT', 'too many subscriptions');
    });
  }

  folderStatus(name: string): Promise<FolderStatus> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(name);
      const summary = await this.mailbox.summary(entry, true);
      // No session here claimed any: all are recent, and the head's counters say how many.
      const watermark = this.mailbox.recentWatermarks.get(entry.folderId) ?? 0;
      const recent = watermark === 0 ? summary.messages : await (await this.mailbox.folder(entry)).read((s) => countAbove(s.messages, watermark));
      return { ...folderInfoOf(entry, summary, this.mailbox.isSubscribed(name)), messages: summary.messages, unseen: summary.unseen, recent };
    });
  }

  openFolder(name: string): Promise<FolderSnapshot> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(name);
      const log = await this.mailbox.folder(entry, true);
      const messages = await log.read((s) => [...s.messages.values()]);
      this.uidEpochs.set(entry.folderId, log.summary.uidEpoch);
      return { folder: folderInfoOf(entry, log.summary, this.mailbox.isSubscribed(name)), messages: messages.map(messageMetaOf) };
    });
  }

  watchFolder(name: string, onChange: (change: FolderChange) => void): FolderWatch {
    const entry = this.mailbox.entry(name);
    if (!entry) throw new MailBackendError('NO_SUCH_FOLDER', `folder "${name}" does not exist`);
    const unwatch = this.mailbox.watch(entry, onChange);
    const close = () => {
      unwatch();
      this.watches.delete(close);
    };
    this.watches.add(close);
    return { close };
  }

  /** The folder index log's changes (this node's writes and other devices', from head notices) reach the watcher. */
  watchFolderList(onChange: (change: FolderListChange) => void): FolderWatch {
    // A fresh function per watch: the same callback watched twice is two watches.
    const unwatch = this.mailbox.watchList((change) => onChange(change));
    const close = () => {
      unwatch();
      this.watches.delete(close);
    };
    this.watches.add(close);
    return { close };
  }

  claimRecent(name: string, claim: boolean): Promise<RecentClaim> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(name);
      const log = await this.mailbox.folder(entry);
      const recentAfterUid = this.mailbox.recentWatermarks.get(entry.folderId) ?? 0;
      const claimedThroughUid = Math.max(recentAfterUid, log.summary.uidNext - 1);
      if (claim) this.mailbox.recentWatermarks.set(entry.folderId, claimedThroughUid);
      return { recentAfterUid, claimedThroughUid };
    });
  }

  expungedSince(name: string, modseq: number): Promise<readonly number[]> {
    return this.run(async () => {
      const log = await this.mailbox.folder(await this.mailbox.requireEntry(name));
      return log.read((s) => {
        const remembered = s.tombstones.filter((t) => t.modseq > modseq).map((t) => t.uid);
        if (modseq >= s.forgottenThroughModseq) return remembered.sort((a, b) => a - b);
        // Older than the remembered history: every UID not present may have vanished (RFC 7162 lets the
        // server answer with a superset; the client ignores UIDs it does not know).
        const vanished: number[] = [];
        for (let uid = 1; uid < s.uidNext; uid++) if (!s.messages.has(uid)) vanished.push(uid);
        return vanished;
      });
    });
  }

  // ---- messages ------------------------------------------------------------------------------------

  append(folder: string, raw: Uint8Array, flags: readonly string[], internalDateMs: number): Promise<AppendResult> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(folder);
      const ref = await this.mailbox.storage.putMail(messageSegments(raw));
      const log = await this.mailbox.folder(entry);
      const key = appendInsertKey(this.mailbox.deps.random);
      const [r] = await log.append([insertOp({ ref, sizeOctets: raw.length, flags, internalDateMs: Math.floor(internalDateMs), key })]);
      return { uidValidity: uidValidityOf(entry.folderId, log.summary.uidEpoch), uid: insertedUid(r!.change), ref: formatBlockRef(ref) };
    });
  }

  storeFlags(folder: string, uids: readonly number[], update: FlagUpdate): Promise<FlagUpdateResult> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(folder);
      const log = await this.mailbox.folder(entry);
      const uidEpoch = this.uidEpochOf(entry, log);
      const base = { type: 'flags' as const, mode: update.mode, flags: update.flags, ...(update.unchangedSince !== undefined ? { unchangedSince: update.unchangedSince } : {}), uidEpoch };
      const results = await log.append(chunks([...new Set(uids)], FOLDER_OP_UIDS_MAX).map((part) => ({ ...base, uids: part })));
      const changed: { uid: number; flags: string[]; modseq: number }[] = [];
      const failed: number[] = [];
      for (const { change } of results) {
        if (change.type !== 'flags') continue;
        for (const c of change.changed) changed.push({ uid: c.uid, flags: [...c.flags], modseq: c.modseq });
        failed.push(...change.failed);
      }
      return { changed, failed };
    });
  }

  expunge(folder: string, uids?: readonly number[]): Promise<ExpungeResult> {
    return this.run(async () => {
      const entry = await this.mailbox.requireEntry(folder);
      const log = await this.mailbox.folder(entry, true);
      const uidEpoch = this.uidEpochOf(entry, log);
      const only = uids ? new Set(uids) : undefined;
      if (only && uidEpoch !== log.summary.uidEpoch) return { uids: [], highestModseq: log.summary.highestModseq }; // UIDs of another numbering
      const deleted = await log.read((s) => [...s.messages.values()].filter((m) => hasFlag(m.flags, DELETED) && (!only || only.has(m.uid))).map((m) => m.uid));
      const removed = await expungeUids(log, deleted, true, log.summary.uidEpoch);
      return { uids: removed, highestModseq: log.summary.highestModseq };
    });
  }

  copy(folder: string, uids: readonly number[], destination: string): Promise<CopyResult> {
    return this.run(async () => (await this.copyMessages(folder, uids, destination)).result);
  }

  private async copyMessages(folder: string, uids: readonly number[], destination: string) {
    const sourceEntry = await this.mailbox.requireEntry(folder);
    const source = await this.mailbox.folder(sourceEntry);
    const uidEpoch = this.uidEpochOf(sourceEntry, source);
    if (uidEpoch !== source.summary.uidEpoch) throw new MailBackendError('UNAVAILABLE', `folder "${folder}" was renumbered after a merge of two of its copies: select it again`);
    const targetEntry = await this.mailbox.requireEntry(destination);
    const target = await this.mailbox.folder(targetEntry);
    const wanted = [...new Set(uids)].sort((a, b) => a - b);
    const messages = await source.read((s) => wanted.map((uid) => s.messages.get(uid)).filter((m) => m !== undefined));
    // A fresh key per copy: copying a message twice gives two messages (IMAP), a retried write does not.
    const results = await target.append(messages.map((m) => copyOp(m, appendInsertKey(this.mailbox.deps.random))));
    const mapping = messages.map((m, i) => ({ source: m.uid, target: insertedUid(results[i]!.change) }));
    return { source, uidEpoch, result: { uidValidity: uidValidityOf(targetEntry.folderId, target.summary.uidEpoch), mapping } };
  }

  move(folder: string, uids: readonly number[], destination: string): Promise<CopyResult> {
    return this.run(async () => {
      // Into the same folder too (RFC 6851): the copies get new UIDs, then the originals go.
      const { source, uidEpoch, result } = await this.copyMessages(folder, uids, destination);
      await expungeAll(source, result.mapping.map((m) => m.source), uidEpoch);
      return result;
    });
  }

  readMessage(ref: MessageRef): Promise<Uint8Array> {
    return this.run(async () => {
      const parsed = parseBlockRef(ref);
      if (!parsed.ok) throw new MailBackendError('INTERNAL', parsed.message);
      return this.mailbox.storage.getData(parsed.value);
    });
  }

  /** QUOTA: the sizes of the user's messages in every folder, against the organisation's per-user limit. */
  quota(): Promise<StorageQuota | undefined> {
    return this.run(async () => {
      const limitBytes = this.mailbox.deps.mailQuotaBytes;
      if (limitBytes === undefined) return undefined;
      let usedBytes = 0;
      for (const entry of this.mailbox.entries()) {
        const log = await this.mailbox.folder(entry);
        usedBytes += await log.read((s) => {
          let bytes = 0;
          for (const m of s.messages.values()) bytes += m.sizeOctets;
          return bytes;
        });
      }
      return { usedBytes, limitBytes };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const close of [...this.watches]) close();
    this.onClose();
  }
}

function copyOp(m: FolderMessage, key: string): FolderOp {
  const ref = decodeBlockRef(m.ref);
  if (!ref.ok) throw new MailBackendError('INTERNAL', ref.message);
  return insertOp({ ref: ref.value, sizeOctets: m.sizeOctets, flags: m.flags, internalDateMs: m.internalDateMs, key });
}

function insertedUid(change: { type: string; outcome?: string; message?: { uid: number } }): number {
  if (change.type === 'insert' && (change.outcome === 'added' || change.outcome === 'duplicate')) return change.message!.uid;
  if (change.outcome === 'full') throw new MailBackendError('LIMIT', 'the folder is full; expunge or move some messages');
  throw new MailBackendError('INTERNAL', `insert refused (${String(change.outcome)})`);
}

async function expungeUids(log: FolderLog, uids: readonly number[], onlyDeleted: boolean, uidEpoch: number): Promise<number[]> {
  const results = await log.append(chunks(uids, FOLDER_OP_UIDS_MAX).map((part) => ({ type: 'expunge' as const, uids: part, onlyDeleted, uidEpoch })));
  return results.flatMap(({ change }) => (change.type === 'expunge' ? change.removed.map((m) => m.uid) : [])).sort((a, b) => a - b);
}

const expungeAll = (log: FolderLog, uids: readonly number[], uidEpoch: number) => expungeUids(log, uids, false, uidEpoch);

function countAbove(messages: ReadonlyMap<number, unknown>, uid: number): number {
  let n = 0;
  for (const key of messages.keys()) if (key > uid) n++;
  return n;
}
