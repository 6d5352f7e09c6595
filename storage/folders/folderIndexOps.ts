// Operations of the folder index log (`log:folders`) and the changes they make. Folders have a random
// folder id: the folder's own log is `log:folder:<id>`, so a rename changes only the index, and a
// folder deleted and created again under the same name is a new log (new UIDVALIDITY).
//   create     [1, name, folderId, specialUse | null]
//   rename     [2, from, to, folderId]       moves `from` and its inferiors ("from/...")
//   delete     [3, name, folderId]
//   subscribe  [4, name, subscribed]
// Rename and delete name the folder id they mean: applied after another device's change to the same
// name (say, it was deleted and recreated), they change nothing instead of hitting the wrong folder.
import { FOLDER_NAME_CHARS_MAX } from '../../protocol/limits';

export const SPECIAL_USES = ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'] as const;
export type SpecialUseAttribute = (typeof SPECIAL_USES)[number];

export interface FolderEntry {
  readonly name: string;
  /** 32 lowercase hex digits (16 random bytes). */
  readonly folderId: string;
  readonly specialUse?: SpecialUseAttribute;
}

export type FolderIndexOp =
  | { readonly type: 'create'; readonly name: string; readonly folderId: string; readonly specialUse?: SpecialUseAttribute }
  | { readonly type: 'rename'; readonly from: string; readonly to: string; readonly folderId: string }
  | { readonly type: 'delete'; readonly name: string; readonly folderId: string }
  | { readonly type: 'subscribe'; readonly name: string; readonly subscribed: boolean };

export interface FolderMove {
  readonly from: string;
  readonly to: string;
  readonly entry: FolderEntry;
}

export interface SubscriptionMove {
  readonly from: string;
  readonly to: string;
  /** `to` was subscribed already (subscriptions may name folders that do not exist). */
  readonly toWasSubscribed: boolean;
}

export type FolderIndexChange =
  | { readonly type: 'create'; readonly outcome: 'created' | 'exists' | 'id-taken' | 'limit'; readonly entry?: FolderEntry }
  | { readonly type: 'rename'; readonly outcome: 'renamed' | 'missing' | 'exists'; readonly moves: readonly FolderMove[]; readonly subscriptionsMoved: readonly SubscriptionMove[] }
  | { readonly type: 'delete'; readonly outcome: 'deleted' | 'missing'; readonly entry?: FolderEntry }
  | { readonly type: 'subscribe'; readonly outcome: 'changed' | 'same' | 'limit'; readonly name: string; readonly subscribed: boolean };

const FOLDER_ID = /^[0-9a-f]{32}$/;

const bad = (what: string): never => {
  throw new Error(`folder index operation: ${what}`);
};
export const nameAt = (x: unknown): string => (typeof x === 'string' && x.length > 0 && x.length <= FOLDER_NAME_CHARS_MAX ? x : bad('a folder name is not a bounded string'));
export const folderIdAt = (x: unknown): string => (typeof x === 'string' && FOLDER_ID.test(x) ? x : bad('a folder id is not 32 hex digits'));
export const specialUseAt = (x: unknown): SpecialUseAttribute | undefined =>
  x === null || x === undefined ? undefined : (SPECIAL_USES as readonly unknown[]).includes(x) ? (x as SpecialUseAttribute) : bad('unknown special use');

export function encodeFolderIndexOp(op: FolderIndexOp): unknown {
  switch (op.type) {
    case 'create':
      return [1, op.name, op.folderId, op.specialUse ?? null];
    case 'rename':
      return [2, op.from, op.to, op.folderId];
    case 'delete':
      return [3, op.name, op.folderId];
    case 'subscribe':
      return [4, op.name, op.subscribed];
  }
}

export function decodeFolderIndexOp(wire: unknown): FolderIndexOp {
  if (!Array.isArray(wire)) return bad('not a list');
  const [tag, a, b, c] = wire as unknown[];
  if (tag === 1 && wire.length === 4) {
    const specialUse = specialUseAt(c);
    return { type: 'create', name: nameAt(a), folderId: folderIdAt(b), ...(specialUse ? { specialUse } : {}) };
  }
  if (tag === 2 && wire.length === 4) return { type: 'rename', from: nameAt(a), to: nameAt(b), folderId: folderIdAt(c) };
  if (tag === 3 && wire.length === 3) return { type: 'delete', name: nameAt(a), folderId: folderIdAt(b) };
  if (tag === 4 && wire.length === 3 && typeof b === 'boolean') return { type: 'subscribe', name: nameAt(a), subscribed: b };
  return bad(`unknown operation ${String(tag)}`);
}
