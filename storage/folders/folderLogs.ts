// A user's folder logs: where they live, how to open them, and their keys.
//
//   const index = await openFolderIndex(deps, user);                  // log:folders
//   await ensureDefaultFolders(index, random);                        // INBOX, Sent, Drafts, ...
//   const inbox = await openFolderLog(deps, user, folderIdOf(index, 'INBOX'));
//   const [r] = await inbox.append([insertOp({ ref, sizeOctets, flags: [], internalDateMs, key })]);
//
// UIDVALIDITY is derived from the folder id and the folder's UID epoch (kept in its log), so every
// device computes the same value, a folder recreated under the same name (a new random id) gets a new
// one, and a merge that renumbers a folder's UIDs gives it a greater one.
import { HashDomain } from '../../crypto/domains';
import { blake2b } from '../../crypto/hash';
import type { Random } from '../../infra/ports';
import { logError } from '../../protocol/errors';
import { LOG_PLACEMENT_BITS, LOG_PLACEMENT_TRIES_MAX } from '../../protocol/limits';
import type { StorageApi } from '../api';
import { type BlockRef, encodeBlockRef } from '../blocks';
import type { HeadMarks } from '../log/headMarks';
import { type LogAddress, logAddressFor, logObjectIdOf, type LogOwner } from '../log/logAddress';
import { firstNear } from '../log/logPlacement';
import { readHead } from '../log/logReader';
import { type LogDeps, LogWriter } from '../log/logWriter';
import { folderIndexModel, type FolderIndexState, type FolderIndexSummary } from './folderIndexModel';
import type { FolderEntry, FolderIndexChange, FolderIndexOp, SpecialUseAttribute } from './folderIndexOps';
import { FOLDER_LOG_KIND, folderModel } from './folderModel';
import type { FolderChangeRecord, FolderOp } from './folderOps';
import type { FolderState, FolderSummary } from './folderState';

export type FolderLog = LogWriter<FolderState, FolderOp, FolderChangeRecord, FolderSummary>;
export type FolderIndexLog = LogWriter<FolderIndexState, FolderIndexOp, FolderIndexChange, FolderIndexSummary>;

/** The folder index's log name (the identity record points at it). */
export const FOLDER_INDEX_LOG_NAME = 'folders';
export const INBOX = 'INBOX';
/** Created with INBOX on first use (DESIGN 6: the special folders exist from the start). */
export const DEFAULT_SPECIAL_FOLDERS: readonly { readonly name: string; readonly specialUse: SpecialUseAttribute }[] = [
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];

const FOLDER_ID_BYTES = 16;

/**
 * A fresh random folder id; with `near`, the first of a run of them (a random start, counted up in its
 * last 32 bits) whose log's head lands near `near.anchor` (folderPlacement: the user's INBOX).
 */
export function newFolderId(random: Random, near?: FolderPlacement): string {
  const start = Buffer.from(random.bytes(FOLDER_ID_BYTES));
  if (!near) return start.toString('hex');
  const low = start.readUInt32BE(FOLDER_ID_BYTES - 4);
  const candidate = (i: number) => {
    const id = Buffer.from(start);
    id.writeUInt32BE((low ^ i) >>> 0, FOLDER_ID_BYTES - 4);
    const folderId = id.toString('hex');
    return { folderId, id: folderHeadId(near.owner, folderId) };
  };
  return firstNear(near.anchor, candidate, LOG_PLACEMENT_BITS, LOG_PLACEMENT_TRIES_MAX).folderId;
}

/**
 * INBOX's id: the same on every device of the user, so two nodes that each found no folder index (a
 * new user's first logins at once, or the two sides of a partition) create the same INBOX, and its
 * log merges rather than one INBOX hiding the other's mail. INBOX cannot be deleted (RFC 3501 6.3.4),
 * so the id never comes back with old contents; the other default folders, which can, get random
 * ids. Derived from the index's secret log key, so it links nothing for whoever sees only the ring.
 */
export const inboxFolderId = (index: Pick<LogAddress, 'key'>): string => Buffer.from(blake2b([HashDomain.inboxFolderId, index.key])).subarray(0, FOLDER_ID_BYTES).toString('hex');

/**
 * UIDVALIDITY: 32 bits of BLAKE2b(tag || folder id), never 0 (RFC 3501 nz-number), plus the folder's
 * UID epoch (FolderState.uidEpoch: one more each time a fork's merge renumbered it), so it is greater
 * after a renumbering, as RFC 3501 2.3.1.1 asks. Modulo 2^32: for the one folder in 2^32/epoch whose
 * hash lies that close to the top it wraps round to a small value, different but not greater.
 */
export function uidValidityOf(folderId: string, uidEpoch = 0): number {
  const h = Buffer.from(blake2b([HashDomain.uidValidity, Buffer.from(folderId, 'hex')]));
  const base = h.readUInt32BE(0) || 1;
  return (base + uidEpoch) % 2 ** 32 || 1;
}

export const folderLogName = (folderId: string): string => `folder:${folderId}`;
/** The id of a folder log's head: the k nodes closest to it hold the folder. */
export const folderHeadId = (owner: Uint8Array, folderId: string): string => logObjectIdOf(owner, folderLogName(folderId));

// ---- placement: a user's folders live by the user's home node ---------------------------------------
//
// DESIGN 3 places every object on the k nodes closest to its id, and a log head's id derives from its
// owner and its name: the names are POST's to choose. A user created with a home node gets a folder
// index whose INBOX head lies next to the home on the id circle, and every folder created later lies
// next to INBOX, so the home (and its neighbours, which are also the user's standby hosts) replicate
// the user's folder heads: the node that writes them stores its own copy in-process, one put fewer on
// the bus per write. Every device derives the same names (the identity record points at the index), so
// two devices creating a new user's folders at once still create the same INBOX.

/** Where a user's new folders go: next to the head of its INBOX. */
export interface FolderPlacement {
  readonly owner: Uint8Array;
  readonly anchor: string;
}

/** Next to the INBOX of `index`: `inboxId` as its entry names it, derived from the index's key when not given. */
export const folderPlacement = (index: Pick<LogAddress, 'owner' | 'key'>, inboxId: string = inboxFolderId(index)): FolderPlacement => ({
  owner: index.owner,
  anchor: folderHeadId(index.owner, inboxId),
});

/**
 * The folder index's name for a user hosted on node `home`: the first of `folders:0`, `folders:1`, ...
 * whose INBOX (its id derived from the index's key, as ensureDefaultFolders derives it) has its head
 * near the home. The identity record names it (storage/users/createUser.ts); users created before, or
 * without a home, keep `folders`.
 */
export function placedFolderIndexName(owner: LogOwner, home: string): string {
  const publicKey = owner.signing.publicKey;
  return firstNear(
    home,
    (i) => {
      const name = `${FOLDER_INDEX_LOG_NAME}:${i}`;
      return { name, id: folderHeadId(publicKey, inboxFolderId({ key: owner.logKey(name) })) };
    },
    LOG_PLACEMENT_BITS,
    LOG_PLACEMENT_TRIES_MAX,
  ).name;
}

export const folderLogAddress = (owner: LogOwner, folderId: string): LogAddress => logAddressFor(owner, folderLogName(folderId));
export const folderIndexAddress = (owner: LogOwner, name: string = FOLDER_INDEX_LOG_NAME): LogAddress => logAddressFor(owner, name);

export const openFolderIndex = (deps: LogDeps, owner: LogOwner, name: string = FOLDER_INDEX_LOG_NAME): Promise<FolderIndexLog> =>
  LogWriter.open(deps, folderIndexAddress(owner, name), folderIndexModel);

export const openFolderLog = (deps: LogDeps, owner: LogOwner, folderId: string): Promise<FolderLog> => LogWriter.open(deps, folderLogAddress(owner, folderId), folderModel);

/** A folder's counters from its head alone (no entries, no snapshot): for LIST and STATUS. */
export async function readFolderSummary(storage: StorageApi, owner: LogOwner, folderId: string, marks?: HeadMarks): Promise<FolderSummary> {
  const address = folderLogAddress(owner, folderId);
  const head = await readHead(storage, address, FOLDER_LOG_KIND, marks);
  if (!head) return folderModel.summarize(folderModel.initial());
  try {
    return folderModel.decodeSummary(head.body.summary);
  } catch (e) {
    throw logError('LOG_CORRUPT', address.name, `head of ${address.name}: ${(e as Error).message}`);
  }
}

/** Create INBOX and the special folders that do not exist yet, subscribed; one head write at most. */
export async function ensureDefaultFolders(index: FolderIndexLog, random: Random): Promise<void> {
  const { missing, inbox } = await index.read((s) => ({
    missing: [{ name: INBOX }, ...DEFAULT_SPECIAL_FOLDERS].filter((f) => !s.byName.has(f.name)),
    inbox: s.byName.get(INBOX)?.folderId,
  }));
  if (missing.length === 0) return;
  const inboxId = inbox ?? inboxFolderId(index.address);
  const near = folderPlacement(index.address, inboxId);
  const ops: FolderIndexOp[] = [];
  for (const f of missing) {
    ops.push({ type: 'create', name: f.name, folderId: f.name === INBOX ? inboxId : newFolderId(random, near), ...('specialUse' in f ? { specialUse: f.specialUse } : {}) });
    ops.push({ type: 'subscribe', name: f.name, subscribed: true });
  }
  // Another device may create them at the same time: its creates win, ours are no-ops (same names).
  await index.append(ops);
}

// ---- insert keys: what makes an insert idempotent --------------------------------------------------

/** A notification appended to INBOX: the same notification inserted twice is one message. */
export const notificationInsertKey = (notificationId: string): string => `n:${notificationId}`;
/** One APPEND/COPY: a fresh nonce, so the same bytes appended twice are two messages (IMAP), yet a retried write is not. */
export const appendInsertKey = (random: Random): string => `a:${Buffer.from(random.bytes(12)).toString('hex')}`;
/** Keyed by content: the same reference inserted twice is one message. */
export const contentInsertKey = (ref: BlockRef): string => `r:${ref.id}`;

export function insertOp(args: { ref: BlockRef; sizeOctets: number; flags: readonly string[]; internalDateMs: number; key?: string }): FolderOp {
  return {
    type: 'insert',
    key: args.key ?? contentInsertKey(args.ref),
    ref: encodeBlockRef(args.ref),
    flags: args.flags,
    internalDateMs: args.internalDateMs,
    sizeOctets: args.sizeOctets,
  };
}

export type { FolderEntry };
