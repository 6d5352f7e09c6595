// What a log account needs from a log's state: apply an operation (does the log record it?), the
// head's summary, and the encoded state when a snapshot is due. Three keepers:
//   RealModelState  the model itself (storage/log/logModel.ts) on its real state: for small logs
//                   (the folder index) and as the reference the shadows are checked against;
//   FolderShadow    a folder log (insert, add one flag), kept in typed columns instead of a Map of
//                   objects (a year of 250 users is millions of messages); a snapshot materialises the
//                   real FolderState and encodes it with the real encoder, so its bytes are exact;
//   MessagesShadow  a `messages`-model log (the sent-mail record): a count and the encoded size of
//                   its records; the state's length is exact, its bytes are zeros (sealed all the same).
// test/unit/bench/storageRequirements.test.ts feeds the same operations to a shadow and to the real
// model and compares summaries and encoded states.
import { canonicalBytes } from '../../protocol/frame';
import { MESSAGES_LOG_ITEMS_MAX } from '../../protocol/limits';
import { normaliseFlags, SEEN } from '../../storage/folders/flags';
import { encodeFolderState } from '../../storage/folders/folderCodec';
import { FOLDER_LOG_KIND, folderModel } from '../../storage/folders/folderModel';
import type { FolderOp } from '../../storage/folders/folderOps';
import { emptyFolderState, type FolderMessage, type FolderState } from '../../storage/folders/folderState';
import type { LogModel } from '../../storage/log/logModel';
import { type MessagesOp, messagesModel } from '../../storage/messages/messagesModel';
import { emptyConversationIndex } from '../../storage/messages/conversationOrder';

export interface LogStateKeeper<Op> {
  readonly kind: string;
  encodeOp(op: Op): Uint8Array;
  /** Apply `op` (`encoded` is encodeOp's answer); false when it changes nothing, so the log writes nothing for it. */
  apply(op: Op, encoded: Uint8Array): boolean;
  summaryWire(): unknown;
  stateBytes(): Uint8Array;
}

export class RealModelState<S, Op, C, Sum> implements LogStateKeeper<Op> {
  readonly state: S;
  constructor(private readonly model: LogModel<S, Op, C, Sum>) {
    this.state = model.initial();
  }
  get kind(): string {
    return this.model.kind;
  }
  apply(op: Op, _encoded: Uint8Array): boolean {
    return this.model.apply(this.state, op).effective;
  }
  encodeOp(op: Op): Uint8Array {
    return canonicalBytes(this.model.encodeOp(op));
  }
  summaryWire(): unknown {
    return this.model.encodeSummary(this.model.summarize(this.state));
  }
  stateBytes(): Uint8Array {
    return canonicalBytes(this.model.encodeState(this.state));
  }
}

/** A growable column of numbers. */
class Column<A extends Float64Array | Uint32Array | Uint8Array> {
  length = 0;
  constructor(private data: A) {}
  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new (this.data.constructor as new (n: number) => A)(Math.max(64, this.data.length * 2));
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }
  get(i: number): number {
    return this.data[i]!;
  }
  set(i: number, x: number): void {
    this.data[i] = x;
  }
}

/**
 * A folder log whose operations are inserts and single-flag additions (no deletion in this trace),
 * with folderModel's numbering: an insert takes uid = uidNext++ and the next modseq; a flag that is
 * not set yet is appended to the message's flags (normaliseFlags) and takes the next modseq.
 * Callers insert with key `keyOf(uid)` and reference `ref` (materialise() gives every message those):
 * only their lengths reach the bytes.
 */
export class FolderShadow implements LogStateKeeper<FolderOp> {
  readonly kind = FOLDER_LOG_KIND;
  private uidNext = 1;
  private highestModseq = 1;
  private unseen = 0;
  private readonly sizes = new Column(new Uint32Array(64));
  private readonly dates = new Column(new Float64Array(64));
  private readonly modseqs = new Column(new Uint32Array(64));
  private readonly flagSets = new Column(new Uint8Array(64));
  /** Distinct flag lists, in the order they were met (a message holds an index). */
  private readonly lists: string[][] = [];
  private readonly listIndex = new Map<string, number>();

  constructor(
    readonly keyOf: (uid: number) => string,
    readonly ref: Uint8Array,
  ) {}

  /** The uid the next insert gets. */
  get nextUid(): number {
    return this.uidNext;
  }

  get messages(): number {
    return this.sizes.length;
  }

  apply(op: FolderOp, _encoded: Uint8Array): boolean {
    if (op.type === 'insert') {
      const list = this.listOf(op.flags);
      this.uidNext++;
      this.sizes.push(op.sizeOctets);
      this.dates.push(op.internalDateMs);
      this.modseqs.push(++this.highestModseq);
      this.flagSets.push(list);
      if (!this.lists[list]!.includes(SEEN)) this.unseen++;
      return true;
    }
    if (op.type !== 'flags' || op.mode !== 'add' || op.uids.length !== 1 || op.flags.length !== 1 || op.unchangedSince !== undefined) {
      throw new Error(`FolderShadow: only inserts and single-flag additions, not ${JSON.stringify(op)}`);
    }
    const i = op.uids[0]! - 1;
    if (i < 0 || i >= this.sizes.length) return false;
    const before = this.flagSets.get(i);
    const after = this.listOf([...this.lists[before]!, ...op.flags]);
    if (after === before) return false;
    this.flagSets.set(i, after);
    this.modseqs.set(i, ++this.highestModseq);
    if (this.lists[after]!.includes(SEEN) && !this.lists[before]!.includes(SEEN)) this.unseen--;
    return true;
  }

  encodeOp(op: FolderOp): Uint8Array {
    return canonicalBytes(folderModel.encodeOp(op));
  }

  summaryWire(): unknown {
    return folderModel.encodeSummary({ uidNext: this.uidNext, uidEpoch: 0, highestModseq: this.highestModseq, messages: this.sizes.length, unseen: this.unseen });
  }

  /** The real FolderState these columns stand for. */
  materialise(): FolderState {
    const state = emptyFolderState();
    for (let i = 0; i < this.sizes.length; i++) {
      const uid = i + 1;
      const m: FolderMessage = {
        uid,
        ref: this.ref,
        flags: this.lists[this.flagSets.get(i)]!,
        internalDateMs: this.dates.get(i),
        sizeOctets: this.sizes.get(i),
        modseq: this.modseqs.get(i),
        key: this.keyOf(uid),
      };
      state.messages.set(uid, m);
    }
    state.uidNext = this.uidNext;
    state.highestModseq = this.highestModseq;
    state.unseen = this.unseen;
    return state;
  }

  stateBytes(): Uint8Array {
    return canonicalBytes(encodeFolderState(this.materialise()));
  }

  /** The index of normaliseFlags(flags) among the lists met so far (memoised: a few distinct lists recur). */
  private listOf(flags: readonly string[]): number {
    const given = flags.join('\n');
    let i = this.listIndex.get(given);
    if (i !== undefined) return i;
    const normal = normaliseFlags(flags);
    const key = normal.join('\n');
    i = this.listIndex.get(key);
    if (i === undefined) {
      i = this.lists.push(normal) - 1;
      if (i > 255) throw new Error('FolderShadow: more than 256 distinct flag lists');
      this.listIndex.set(key, i);
    }
    this.listIndex.set(given, i);
    return i;
  }
}

/** Bytes msgpack spends on the header of a list of `n` items (measured on the real encoder). */
function listHeaderBytes(n: number): number {
  return canonicalBytes(new Array<number>(n).fill(0)).length - n;
}

/** Bytes an `add` operation spends around its record (measured once on the real encoders). */
const ADD_WRAPPER_BYTES = (() => {
  const record = { key: 'k', direction: 'out' as const, from: 'a@b', to: ['c@d'], ref: 'r', sentAtMs: 1, recordedAtMs: 1 };
  const op = canonicalBytes(messagesModel.encodeOp({ type: 'add', record })).length;
  const state = canonicalBytes(messagesModel.encodeState({ byKey: new Map([[record.key, record]]), order: [record.key], conversations: emptyConversationIndex() })).length - listHeaderBytes(1);
  return op - state;
})();

/**
 * A `messages`-model log (the sent-mail record). Records are keyed uniquely here, so every add is
 * recorded until the log holds MESSAGES_LOG_ITEMS_MAX records; after that the model refuses them.
 */
export class MessagesShadow implements LogStateKeeper<MessagesOp> {
  readonly kind = messagesModel.kind;
  private count = 0;
  private recordBytes = 0;

  apply(_op: MessagesOp, encoded: Uint8Array): boolean {
    if (this.count >= MESSAGES_LOG_ITEMS_MAX) return false;
    this.count++;
    this.recordBytes += encoded.length - ADD_WRAPPER_BYTES;
    return true;
  }

  encodeOp(op: MessagesOp): Uint8Array {
    return canonicalBytes(messagesModel.encodeOp(op));
  }

  summaryWire(): unknown {
    return messagesModel.encodeSummary({ count: this.count });
  }

  stateBytes(): Uint8Array {
    return new Uint8Array(listHeaderBytes(this.count) + this.recordBytes);
  }
}
