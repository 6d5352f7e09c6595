// The rollback defence: per log, the highest head version this reader has seen (sequence and version
// hash). A replica that serves an older head (a replayed or stale version) is refused LOG_ROLLBACK; a
// different head with the same sequence is LOG_FORK. Bounded: the least recently used log is forgotten
// beyond LOG_HEAD_MARKS_MAX. One instance per node (or per unlocked user), shared by its readers.
import { LOG_HEAD_MARKS_MAX } from '../../protocol/limits';
import { type SignedObject, versionHash } from '../signedObject';

export interface HeadMark {
  readonly seq: number;
  /** Hex version hash. */
  readonly hash: string;
}

export type MarkCheck = { ok: true } | { ok: false; code: 'LOG_ROLLBACK' | 'LOG_FORK'; message: string };

export class HeadMarks {
  private readonly marks = new Map<string, HeadMark>();

  constructor(private readonly max: number = LOG_HEAD_MARKS_MAX) {}

  get(objectId: string): HeadMark | undefined {
    return this.marks.get(objectId);
  }

  /** Is `head` at least as new as anything seen for its object? (Does not record it.) */
  check(head: SignedObject): MarkCheck {
    const mark = this.marks.get(head.objectId);
    if (!mark) return { ok: true };
    const who = `log object ${head.objectId.slice(0, 16)}`;
    if (head.seq < mark.seq) return { ok: false, code: 'LOG_ROLLBACK', message: `${who}: a replica served head seq ${head.seq}, but seq ${mark.seq} was already seen (replayed or stale head refused)` };
    if (head.seq === mark.seq && versionHash(head).toString('hex') !== mark.hash) {
      return { ok: false, code: 'LOG_FORK', message: `${who}: two different heads with seq ${head.seq}` };
    }
    return { ok: true };
  }

  /** Remember `head` if it is newer than the mark. */
  record(head: SignedObject): void {
    const mark = this.marks.get(head.objectId);
    if (mark && mark.seq >= head.seq) {
      this.touch(head.objectId, mark);
      return;
    }
    this.touch(head.objectId, { seq: head.seq, hash: versionHash(head).toString('hex') });
  }

  private touch(objectId: string, mark: HeadMark): void {
    this.marks.delete(objectId);
    this.marks.set(objectId, mark);
    if (this.marks.size > this.max) this.marks.delete(this.marks.keys().next().value!);
  }
}
