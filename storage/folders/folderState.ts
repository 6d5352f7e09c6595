// A folder's materialised state: its messages by UID and the counters IMAP needs. UIDs and modseqs
// are assigned when an operation is applied in log order, so every device replaying the log numbers
// the same way (DESIGN 4). Expunged UIDs are remembered with their modseq (QRESYNC) and insert key (a
// re-delivered notification stays expunged), the newest FOLDER_EXPUNGED_RETAINED_MAX of them.
export interface FolderMessage {
  readonly uid: number;
  /** The content reference (74-byte binary BlockRef, key included). */
  readonly ref: Uint8Array;
  readonly flags: readonly string[];
  readonly internalDateMs: number;
  readonly sizeOctets: number;
  readonly modseq: number;
  /** Insert key: "n:<notification id>", an append nonce, or the content id; inserting it again is a no-op. */
  readonly key: string;
}

export interface Tombstone {
  readonly uid: number;
  readonly modseq: number;
  readonly key: string;
}

export interface FolderState {
  /** By UID, ascending (insertion order; see `reorder`). */
  messages: Map<number, FolderMessage>;
  /** Insert key -> UID, for live messages and remembered expunges. */
  readonly byKey: Map<string, number>;
  /** Remembered expunges, oldest first. */
  tombstones: Tombstone[];
  uidNext: number;
  /**
   * Which numbering the UIDs belong to: 0 from the start, one more each time a fork's merge could not
   * keep both branches' UIDs (folderModel's recover). UIDVALIDITY is derived from the folder id and
   * this (uidValidityOf in folderLogs.ts), so it grows with it.
   */
  uidEpoch: number;
  highestModseq: number;
  /** Messages without \Seen. */
  unseen: number;
  /** Expunges with a modseq at or below this one were forgotten (beyond the retention bound). */
  forgottenThroughModseq: number;
}

/** Counters kept in the folder's head: a folder can be listed without loading its state. */
export interface FolderSummary {
  readonly uidNext: number;
  readonly uidEpoch: number;
  readonly highestModseq: number;
  readonly messages: number;
  readonly unseen: number;
}

/** modseq of an empty folder; the first change takes 2. */
export const INITIAL_MODSEQ = 1;

export const emptyFolderState = (): FolderState => ({
  messages: new Map(),
  byKey: new Map(),
  tombstones: [],
  uidNext: 1,
  uidEpoch: 0,
  highestModseq: INITIAL_MODSEQ,
  unseen: 0,
  forgottenThroughModseq: 0,
});

export const summarizeFolder = (s: FolderState): FolderSummary => ({
  uidNext: s.uidNext,
  uidEpoch: s.uidEpoch,
  highestModseq: s.highestModseq,
  messages: s.messages.size,
  unseen: s.unseen,
});

/** A copy that applying operations to leaves `s` as it was (messages themselves are replaced, never changed). */
export const copyFolderState = (s: FolderState): FolderState => ({
  ...s,
  messages: new Map(s.messages),
  byKey: new Map(s.byKey),
  tombstones: [...s.tombstones],
});

/** Restore ascending UID order after a revert re-inserted expunged messages at the end. */
export function reorder(state: FolderState): void {
  state.messages = new Map([...state.messages.entries()].sort((a, b) => a[0] - b[0]));
}
