// What SORT and THREAD computed over all of an open folder, kept for the next time the client asks
// the same (mutt and other threading clients ask again on every new look at a folder). Valid while
// the view's messages are the same ones: sort keys, sent dates, arrival dates and sizes never change
// for a message, flags do not enter SORT or THREAD of ALL, so only an added or removed message
// invalidates (SelectedMailbox.membershipVersion). Bounded per view: at most orderMemosPerViewMax
// entries, the oldest dropped first; a memo of SORT holds one index per message (4 bytes), one of
// THREAD its response text.
import { imapLimits } from '../limits';
import type { SelectedMessage } from '../messageSet';
import type { SearchProgram } from '../search/searchProgram';

export class OrderMemo {
  private version = -1;
  private readonly entries = new Map<string, Uint32Array | string>();

  constructor(private readonly entriesMax: number = imapLimits.orderMemosPerViewMax) {}

  /** Whether a command's result may be kept: only a search of every message (no flags, sets or dates). */
  static covers(program: SearchProgram): boolean {
    return program.key.k === 'all';
  }

  /** A SORT order kept for `key` at this membership version, as the messages of `view` (seq = index + 1). */
  sorted<M>(key: string, membershipVersion: number, view: readonly M[]): { seq: number; message: M }[] | undefined {
    const order = this.current(key, membershipVersion);
    if (!(order instanceof Uint32Array)) return undefined;
    const out = new Array<{ seq: number; message: M }>(order.length);
    for (let i = 0; i < order.length; i++) out[i] = { seq: order[i]! + 1, message: view[order[i]!]! };
    return out;
  }

  keepSorted(key: string, membershipVersion: number, sorted: readonly SelectedMessage[]): void {
    const order = new Uint32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) order[i] = sorted[i]!.seq - 1;
    this.keep(key, membershipVersion, order);
  }

  /** A THREAD response text kept for `key` at this membership version. */
  text(key: string, membershipVersion: number): string | undefined {
    const text = this.current(key, membershipVersion);
    return typeof text === 'string' ? text : undefined;
  }

  keepText(key: string, membershipVersion: number, text: string): void {
    this.keep(key, membershipVersion, text);
  }

  private current(key: string, membershipVersion: number): Uint32Array | string | undefined {
    if (membershipVersion !== this.version) {
      this.entries.clear();
      this.version = membershipVersion;
    }
    return this.entries.get(key);
  }

  private keep(key: string, membershipVersion: number, value: Uint32Array | string): void {
    if (membershipVersion !== this.version) {
      this.entries.clear();
      this.version = membershipVersion;
    }
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.entriesMax) this.entries.delete(this.entries.keys().next().value!);
  }
}
