// The MailBackend port: the only way the IMAP core reaches a user's mail. The storage side
// implements it over encrypted, signed per-folder logs; mail/memory/backend.ts is the in-memory
// reference implementation, and test/unit/imap/backend.compliance.ts is the suite both must pass.
//
// Conventions every implementation keeps:
// - Folder names are Unicode strings with "/" as hierarchy delimiter; the inbox is exactly "INBOX".
//   INBOX and the five special-use folders (Sent, Drafts, Trash, Junk, Archive) exist after the
//   first authentication.
// - UIDs ascend strictly within a uidValidity; modseqs ascend strictly per folder and every change
//   (append, flag change, expunge) takes a new one; highestModseq is the last one taken.
// - Flags are IMAP flag strings: system flags in canonical case ("\\Seen", "\\Answered",
//   "\\Flagged", "\\Deleted", "\\Draft") and keywords (atoms). "\\Recent" is never stored.
// - Every change, whoever made it (this session, another session, another device), is delivered to
//   every watcher of the folder, in modseq order. Watchers must not throw.
// - Likewise every change to the folder list (create, delete, rename, subscribe) is delivered to every
//   folder-list watcher, in the order the folder index applied them.
// - Failures reject with MailBackendError; its code is stable and says what kind of failure it was.

/** Opaque, stable reference to a message's content (for the log backend: manifest id + key). */
export type MessageRef = string;

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive';

export interface FolderInfo {
  readonly name: string;
  readonly uidValidity: number;
  readonly uidNext: number;
  readonly highestModseq: number;
  readonly subscribed: boolean;
  readonly specialUse?: SpecialUse;
}

export interface FolderStatus extends FolderInfo {
  readonly messages: number;
  /** Messages without \Seen. */
  readonly unseen: number;
  /** Messages no session has claimed as recent yet (see claimRecent). */
  readonly recent: number;
}

export interface MessageMeta {
  readonly uid: number;
  readonly flags: readonly string[];
  readonly internalDateMs: number;
  readonly modseq: number;
  readonly sizeOctets: number;
  readonly ref: MessageRef;
}

export interface FolderSnapshot {
  readonly folder: FolderInfo;
  /** Ascending by uid. */
  readonly messages: readonly MessageMeta[];
}

export type FlagUpdateMode = 'add' | 'remove' | 'replace';

export interface FlagUpdate {
  readonly mode: FlagUpdateMode;
  readonly flags: readonly string[];
  /** CONDSTORE: change only messages whose modseq is at most this; list the others as failed. */
  readonly unchangedSince?: number;
}

export interface FlagUpdateResult {
  /** Messages whose flags changed, with their new flags and new modseq. */
  readonly changed: readonly { readonly uid: number; readonly flags: readonly string[]; readonly modseq: number }[];
  /** UIDs that failed the UNCHANGEDSINCE test (nothing was changed on them). */
  readonly failed: readonly number[];
}

export interface ExpungeResult {
  /** UIDs removed, ascending. */
  readonly uids: readonly number[];
  readonly highestModseq: number;
}

export interface AppendResult {
  readonly uidValidity: number;
  readonly uid: number;
  /** The stored message's reference, when the backend can tell (the server then caches the bytes it has). */
  readonly ref?: MessageRef;
}

export interface CopyResult {
  /** uidValidity of the destination folder. */
  readonly uidValidity: number;
  /** Source UID to destination UID, ascending by source UID; only messages that existed. */
  readonly mapping: readonly { readonly source: number; readonly target: number }[];
}

export interface RecentClaim {
  /** Messages with uid > recentAfterUid and <= claimedThroughUid are \Recent for the caller. */
  readonly recentAfterUid: number;
  readonly claimedThroughUid: number;
}

/** The user's storage accounting, for QUOTA (RFC 9208). */
export interface StorageQuota {
  /** Sum of the sizes of the user's messages, in every folder. */
  readonly usedBytes: number;
  /** The per-user limit. */
  readonly limitBytes: number;
}

export type FolderChange =
  | { readonly kind: 'added'; readonly message: MessageMeta }
  | { readonly kind: 'flags'; readonly uid: number; readonly flags: readonly string[]; readonly modseq: number }
  | { readonly kind: 'expunged'; readonly uids: readonly number[]; readonly modseq: number }
  /** The folder was deleted, renamed away or recreated: a session that selected it must leave it. */
  | { readonly kind: 'gone' }
  /**
   * UIDs a session holds may name other messages now: the folder has a new UIDVALIDITY (a merge of
   * two of its copies could not keep both numberings). A session that selected it must leave it.
   */
  | { readonly kind: 'renumbered' };

export interface FolderWatch {
  close(): void;
}

/**
 * A change to the user's folder list. A rename reports each folder that moved (inferiors too); renaming
 * INBOX reports the folder its messages moved to as created. Subscriptions moved by a rename are part
 * of the rename, not reported on their own.
 */
export type FolderListChange =
  | { readonly kind: 'created'; readonly name: string }
  | { readonly kind: 'deleted'; readonly name: string }
  | { readonly kind: 'renamed'; readonly from: string; readonly to: string }
  /** The subscription of `name` was turned on or off (it changed: setting it to what it was is no change). */
  | { readonly kind: 'subscription'; readonly name: string; readonly subscribed: boolean };

/** One authenticated user's mail. Obtained from MailAuthenticator; closed at logout. */
export interface MailUserSession {
  readonly username: string;

  listFolders(): Promise<readonly FolderInfo[]>;
  /** Subscribed names; may include names of folders that do not exist (RFC 3501 6.3.6). */
  listSubscriptions(): Promise<readonly string[]>;
  /** Creates the folder and any missing superiors. FOLDER_EXISTS if it exists. */
  createFolder(name: string): Promise<FolderInfo>;
  /**
   * Renames the folder and its inferiors, creating missing superiors of the new name.
   * Renaming INBOX moves its messages into a new folder and leaves INBOX empty (RFC 3501 6.3.5).
   */
  renameFolder(from: string, to: string): Promise<void>;
  /** FOLDER_HAS_CHILDREN when it has inferiors; CANNOT for INBOX. */
  deleteFolder(name: string): Promise<void>;
  setSubscribed(name: string, subscribed: boolean): Promise<void>;

  folderStatus(name: string): Promise<FolderStatus>;
  openFolder(name: string): Promise<FolderSnapshot>;
  /** Starts the change feed of a folder; changes after this call are delivered. */
  watchFolder(name: string, onChange: (change: FolderChange) => void): FolderWatch;
  /**
   * Starts the change feed of the folder list; changes after this call are delivered. A watcher may
   * call watchFolder on a folder it was just told about.
   */
  watchFolderList(onChange: (change: FolderListChange) => void): FolderWatch;
  /** Claims unclaimed messages as \Recent for the caller; `claim: false` only looks. */
  claimRecent(folder: string, claim: boolean): Promise<RecentClaim>;
  /** UIDs expunged with a modseq above `modseq` (for QRESYNC's VANISHED (EARLIER)). */
  expungedSince(folder: string, modseq: number): Promise<readonly number[]>;

  append(folder: string, raw: Uint8Array, flags: readonly string[], internalDateMs: number): Promise<AppendResult>;
  storeFlags(folder: string, uids: readonly number[], update: FlagUpdate): Promise<FlagUpdateResult>;
  /** Removes messages flagged \Deleted, only among `uids` when given. */
  expunge(folder: string, uids?: readonly number[]): Promise<ExpungeResult>;
  copy(folder: string, uids: readonly number[], destination: string): Promise<CopyResult>;
  /** Copy, then expunge the sources; NO_SUCH_FOLDER for a missing destination. */
  move(folder: string, uids: readonly number[], destination: string): Promise<CopyResult>;
  /** The message's raw RFC 5322 bytes. */
  readMessage(ref: MessageRef): Promise<Uint8Array>;
  /**
   * Optional: the user's storage against the per-user limit (QUOTA). Undefined when the user has
   * no limit; a backend without storage accounting leaves the method out.
   */
  quota?(): Promise<StorageQuota | undefined>;

  /** Logout: release what this session holds. */
  close(): Promise<void>;
}

export interface MailAuthenticator {
  /** Rejects with MailBackendError: WRONG_PASSWORD, UNKNOWN_USER or UNAVAILABLE. */
  authenticate(username: string, password: string): Promise<MailUserSession>;
}

export type MailErrorCode =
  | 'WRONG_PASSWORD'
  | 'UNKNOWN_USER'
  | 'NO_SUCH_FOLDER'
  | 'FOLDER_EXISTS'
  | 'FOLDER_HAS_CHILDREN'
  /** The operation is not possible on this object (delete INBOX, rename onto itself, ...). */
  | 'CANNOT'
  | 'OVER_QUOTA'
  | 'TOO_BIG'
  /** Temporarily unavailable (replicas unreachable, log head contention): retry later. */
  | 'UNAVAILABLE'
  /** A per-user bound was hit (too many folders, too many keywords, ...). */
  | 'LIMIT'
  /** A bug or an unexpected state on the storage side. */
  | 'INTERNAL';

export class MailBackendError extends Error {
  constructor(
    readonly code: MailErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MailBackendError';
  }
}

export const systemFlags = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;
export const specialFolders: readonly { readonly name: string; readonly specialUse: SpecialUse }[] = [
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Archive', specialUse: '\\Archive' },
];
