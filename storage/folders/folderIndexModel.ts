// The folder index's model: which folders exist (name -> folder id, special use) and which names are
// subscribed (subscriptions are independent of existence, RFC 3501 6.3.6).
//   state   [1, folders: [[name, folderId, specialUse | null], ...], subscriptions: [name, ...]]
//   summary [folders, subscriptions]
import { FOLDERS_PER_USER_MAX, SUBSCRIPTIONS_PER_USER_MAX } from '../../protocol/limits';
import type { Applied, LogModel } from '../log/logModel';
import {
  decodeFolderIndexOp,
  encodeFolderIndexOp,
  type FolderEntry,
  type FolderIndexChange,
  type FolderIndexOp,
  type FolderMove,
  folderIdAt,
  type SubscriptionMove,
  nameAt,
  specialUseAt,
} from './folderIndexOps';

export interface FolderIndexState {
  readonly byName: Map<string, FolderEntry>;
  readonly byId: Map<string, FolderEntry>;
  readonly subscriptions: Set<string>;
}

export interface FolderIndexSummary {
  readonly folders: number;
  readonly subscriptions: number;
}

const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const isInferiorName = (name: string, of: string): boolean => name.startsWith(`${of}/`);
const movedName = (name: string, from: string, to: string) => to + name.slice(from.length);

function put(state: FolderIndexState, entry: FolderEntry): void {
  state.byName.set(entry.name, entry);
  state.byId.set(entry.folderId, entry);
}

function remove(state: FolderIndexState, entry: FolderEntry): void {
  state.byName.delete(entry.name);
  state.byId.delete(entry.folderId);
}

function applyRename(state: FolderIndexState, op: Extract<FolderIndexOp, { type: 'rename' }>): Applied<FolderIndexChange> {
  const none = (outcome: 'missing' | 'exists') => ({ effective: false, change: { type: 'rename' as const, outcome, moves: [], subscriptionsMoved: [] } });
  const source = state.byName.get(op.from);
  if (!source || source.folderId !== op.folderId || op.from === op.to || isInferiorName(op.to, op.from)) return none('missing');
  const moving = [...state.byName.values()].filter((e) => e.name === op.from || isInferiorName(e.name, op.from));
  const moves: FolderMove[] = moving.map((entry) => ({ from: entry.name, to: movedName(entry.name, op.from, op.to), entry }));
  if (moves.some((m) => state.byName.has(m.to))) return none('exists');
  for (const m of moves) remove(state, m.entry);
  for (const m of moves) put(state, { ...m.entry, name: m.to });
  const subscriptionsMoved: SubscriptionMove[] = [];
  for (const m of moves) {
    if (!state.subscriptions.delete(m.from)) continue;
    subscriptionsMoved.push({ from: m.from, to: m.to, toWasSubscribed: state.subscriptions.has(m.to) });
    state.subscriptions.add(m.to);
  }
  return { effective: true, change: { type: 'rename', outcome: 'renamed', moves, subscriptionsMoved } };
}

function apply(state: FolderIndexState, op: FolderIndexOp): Applied<FolderIndexChange> {
  switch (op.type) {
    case 'create': {
      const existing = state.byName.get(op.name);
      if (existing) return { effective: false, change: { type: 'create', outcome: 'exists', entry: existing } };
      if (state.byId.has(op.folderId)) return { effective: false, change: { type: 'create', outcome: 'id-taken' } };
      if (state.byName.size >= FOLDERS_PER_USER_MAX) return { effective: false, change: { type: 'create', outcome: 'limit' } };
      const entry: FolderEntry = { name: op.name, folderId: op.folderId, ...(op.specialUse ? { specialUse: op.specialUse } : {}) };
      put(state, entry);
      return { effective: true, change: { type: 'create', outcome: 'created', entry } };
    }
    case 'rename':
      return applyRename(state, op);
    case 'delete': {
      const entry = state.byName.get(op.name);
      if (!entry || entry.folderId !== op.folderId) return { effective: false, change: { type: 'delete', outcome: 'missing' } };
      remove(state, entry);
      return { effective: true, change: { type: 'delete', outcome: 'deleted', entry } };
    }
    case 'subscribe': {
      const change = (outcome: 'changed' | 'same' | 'limit') => ({ type: 'subscribe' as const, outcome, name: op.name, subscribed: op.subscribed });
      if (state.subscriptions.has(op.name) === op.subscribed) return { effective: false, change: change('same') };
      if (op.subscribed && state.subscriptions.size >= SUBSCRIPTIONS_PER_USER_MAX) return { effective: false, change: change('limit') };
      if (op.subscribed) state.subscriptions.add(op.name);
      else state.subscriptions.delete(op.name);
      return { effective: true, change: change('changed') };
    }
  }
}

function revert(state: FolderIndexState, change: FolderIndexChange): void {
  switch (change.type) {
    case 'create':
      remove(state, change.entry!);
      return;
    case 'rename':
      for (const m of change.subscriptionsMoved) {
        if (!m.toWasSubscribed) state.subscriptions.delete(m.to);
        state.subscriptions.add(m.from);
      }
      for (const m of change.moves) remove(state, { ...m.entry, name: m.to });
      for (const m of change.moves) put(state, m.entry);
      return;
    case 'delete':
      put(state, change.entry!);
      return;
    case 'subscribe':
      if (change.subscribed) state.subscriptions.delete(change.name);
      else state.subscriptions.add(change.name);
  }
}

const bad = (what: string): never => {
  throw new Error(`folder index state: ${what}`);
};

function decodeState(wire: unknown): FolderIndexState {
  if (!Array.isArray(wire) || wire.length !== 3 || wire[0] !== 1) return bad('unknown format');
  const [, folders, subscriptions] = wire as unknown[];
  if (!Array.isArray(folders) || folders.length > FOLDERS_PER_USER_MAX) return bad('folders are not a bounded list');
  if (!Array.isArray(subscriptions) || subscriptions.length > SUBSCRIPTIONS_PER_USER_MAX) return bad('subscriptions are not a bounded list');
  const state: FolderIndexState = { byName: new Map(), byId: new Map(), subscriptions: new Set(subscriptions.map(nameAt)) };
  for (const f of folders) {
    if (!Array.isArray(f) || f.length !== 3) bad('a folder is not [name, id, specialUse]');
    const specialUse = specialUseAt(f[2]);
    const entry: FolderEntry = { name: nameAt(f[0]), folderId: folderIdAt(f[1]), ...(specialUse ? { specialUse } : {}) };
    if (state.byName.has(entry.name) || state.byId.has(entry.folderId)) bad(`folder ${entry.name} is listed twice`);
    put(state, entry);
  }
  return state;
}

/**
 * A fork's lost branch carried into the winner (LogModel.recover): folders it created that the winner
 * does not have (by folder id, under their name if it is free), and its subscriptions. The index keeps
 * no tombstones, so a folder deleted or renamed on one side only comes back under its old name:
 * nothing is lost, the user deletes it again.
 */
function recover(lost: FolderIndexState, winner: FolderIndexState): FolderIndexOp[] {
  const ops: FolderIndexOp[] = [];
  for (const e of lost.byName.values()) {
    if (!winner.byId.has(e.folderId) && !winner.byName.has(e.name)) ops.push({ type: 'create', name: e.name, folderId: e.folderId, ...(e.specialUse ? { specialUse: e.specialUse } : {}) });
  }
  for (const name of lost.subscriptions) if (!winner.subscriptions.has(name)) ops.push({ type: 'subscribe', name, subscribed: true });
  return ops;
}

export const FOLDER_INDEX_LOG_KIND = 'folder-index';

export const folderIndexModel: LogModel<FolderIndexState, FolderIndexOp, FolderIndexChange, FolderIndexSummary> = {
  kind: FOLDER_INDEX_LOG_KIND,
  initial: () => ({ byName: new Map(), byId: new Map(), subscriptions: new Set() }),
  apply,
  revert,
  recover,
  summarize: (s) => ({ folders: s.byName.size, subscriptions: s.subscriptions.size }),
  encodeOp: encodeFolderIndexOp,
  decodeOp: decodeFolderIndexOp,
  // Sorted, so that two devices holding the same index write byte-identical snapshots.
  encodeState: (s) => [
    1,
    [...s.byName.values()].sort((a, b) => compareNames(a.name, b.name)).map((e) => [e.name, e.folderId, e.specialUse ?? null]),
    [...s.subscriptions].sort(compareNames),
  ],
  decodeState,
  encodeSummary: (s) => [s.folders, s.subscriptions],
  decodeSummary(wire) {
    if (!Array.isArray(wire) || wire.length !== 2 || !wire.every((x) => Number.isSafeInteger(x) && x >= 0)) return bad('summary is not two counters');
    return { folders: wire[0] as number, subscriptions: wire[1] as number };
  },
};
