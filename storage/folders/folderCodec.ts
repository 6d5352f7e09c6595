// Snapshot and summary forms of a folder's state:
//   state   [1, uidNext, highestModseq, forgottenThroughModseq,
//            messages: [[uid, ref, flags, internalDateMs, sizeOctets, modseq, key], ...] ascending uid,
//            tombstones: [[uid, modseq, key], ...] oldest first, uidEpoch (only when above 0)]
//   summary [uidNext, highestModseq, messages, unseen, uidEpoch (only when above 0)]
// A folder whose UIDs were never renumbered by a fork's merge (uidEpoch 0) encodes as it did before
// uidEpoch existed, so the heads and snapshots already stored still decode and match their counters.
// Decoding validates every field and rebuilds the derived indexes (keys, unseen count).
import { BLOCK_REF_BYTES } from '../blocks';
import { FOLDER_EXPUNGED_RETAINED_MAX, FOLDER_MESSAGES_MAX, INSERT_KEY_CHARS_MAX } from '../../protocol/limits';
import { hasFlag, SEEN } from './flags';
import { checkFlags, isUint } from './folderOps';
import type { FolderMessage, FolderState, FolderSummary, Tombstone } from './folderState';

const FORMAT = 1;

const bad = (what: string): never => {
  throw new Error(`folder state: ${what}`);
};

export function encodeFolderState(s: FolderState): unknown {
  const messages: unknown[] = [];
  for (const m of s.messages.values()) messages.push([m.uid, m.ref, m.flags, m.internalDateMs, m.sizeOctets, m.modseq, m.key]);
  const wire = [FORMAT, s.uidNext, s.highestModseq, s.forgottenThroughModseq, messages, s.tombstones.map((t) => [t.uid, t.modseq, t.key])];
  return s.uidEpoch > 0 ? [...wire, s.uidEpoch] : wire;
}

const keyAt = (x: unknown): string => (typeof x === 'string' && x.length <= INSERT_KEY_CHARS_MAX ? x : bad('an insert key is not a bounded string'));

function decodeMessage(x: unknown, uidNext: number, highestModseq: number): FolderMessage {
  if (!Array.isArray(x) || x.length !== 7) return bad('a message is not a 7-field record');
  const [uid, ref, flags, internalDateMs, sizeOctets, modseq, key] = x as unknown[];
  if (!isUint(uid) || uid < 1 || uid >= uidNext) return bad(`uid ${String(uid)} is not below uidNext ${uidNext}`);
  if (!(ref instanceof Uint8Array) || ref.length !== BLOCK_REF_BYTES) return bad(`message ${uid} has no block reference`);
  if (typeof internalDateMs !== 'number' || !Number.isSafeInteger(internalDateMs) || !isUint(sizeOctets)) return bad(`message ${uid} has a bad date or size`);
  if (!isUint(modseq) || modseq > highestModseq) return bad(`message ${uid} has modseq ${String(modseq)} above the highest`);
  return { uid, ref, flags: checkFlags(flags), internalDateMs, sizeOctets, modseq, key: keyAt(key) };
}

export function decodeFolderState(wire: unknown): FolderState {
  if (!Array.isArray(wire) || (wire.length !== 6 && wire.length !== 7) || wire[0] !== FORMAT) return bad('unknown format');
  const [, uidNext, highestModseq, forgottenThroughModseq, messages, tombstones, uidEpoch = 0] = wire as unknown[];
  if (!isUint(uidNext) || uidNext < 1 || !isUint(highestModseq) || !isUint(forgottenThroughModseq) || !isUint(uidEpoch)) return bad('counters are not integers');
  if (!Array.isArray(messages) || messages.length > FOLDER_MESSAGES_MAX) return bad('messages are not a bounded list');
  if (!Array.isArray(tombstones) || tombstones.length > FOLDER_EXPUNGED_RETAINED_MAX) return bad('tombstones are not a bounded list');
  const state: FolderState = { messages: new Map(), byKey: new Map(), tombstones: [], uidNext, uidEpoch, highestModseq, unseen: 0, forgottenThroughModseq };
  let lastUid = 0;
  for (const x of messages) {
    const m = decodeMessage(x, uidNext, highestModseq);
    if (m.uid <= lastUid) bad('messages are not in ascending uid order');
    lastUid = m.uid;
    if (state.byKey.has(m.key)) bad(`insert key of message ${m.uid} is used twice`);
    state.messages.set(m.uid, m);
    state.byKey.set(m.key, m.uid);
    if (!hasFlag(m.flags, SEEN)) state.unseen++;
  }
  for (const x of tombstones) {
    if (!Array.isArray(x) || x.length !== 3 || !isUint(x[0]) || !isUint(x[1])) return bad('a tombstone is not [uid, modseq, key]');
    const t: Tombstone = { uid: x[0], modseq: x[1], key: keyAt(x[2]) };
    state.tombstones.push(t);
    if (!state.byKey.has(t.key)) state.byKey.set(t.key, t.uid);
  }
  return state;
}

export const encodeFolderSummary = (s: FolderSummary): unknown =>
  s.uidEpoch > 0 ? [s.uidNext, s.highestModseq, s.messages, s.unseen, s.uidEpoch] : [s.uidNext, s.highestModseq, s.messages, s.unseen];

export function decodeFolderSummary(wire: unknown): FolderSummary {
  if (!Array.isArray(wire) || (wire.length !== 4 && wire.length !== 5) || !wire.every(isUint)) return bad('summary is not four or five counters');
  const [uidNext, highestModseq, messages, unseen, uidEpoch = 0] = wire as number[];
  return { uidNext: uidNext!, uidEpoch, highestModseq: highestModseq!, messages: messages!, unseen: unseen! };
}
