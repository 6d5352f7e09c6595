// Sequence sets ("1:4,7,9:*"): parsing, resolving against a mailbox view, and compact formatting
// for COPYUID, VANISHED and MODIFIED.

export type SequenceBound = number | '*';
export interface SequenceRange {
  readonly from: SequenceBound;
  readonly to: SequenceBound;
}
export type SequenceSet = readonly SequenceRange[];

const uint32Max = 0xffffffff;

/**
 * "$" (RFC 5182 SEARCHRES): the messages saved by the last SEARCH ... RETURN (SAVE). A marker
 * compared by identity; commands resolve it against the selected mailbox (see messageSet.ts).
 */
export const savedResultSet: SequenceSet = Object.freeze([]);

export class SequenceSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SequenceSetError';
  }
}

function parseBound(text: string): SequenceBound {
  if (text === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new SequenceSetError(`"${text}" is not a valid message number`);
  const value = Number(text);
  if (value > uint32Max) throw new SequenceSetError(`${text} is larger than the largest message number`);
  return value;
}

export function isSequenceSetSyntax(text: string): boolean {
  return /^[0-9*:,]+$/.test(text);
}

export function parseSequenceSet(text: string): SequenceSet {
  if (text.length === 0) throw new SequenceSetError('empty sequence set');
  const ranges: SequenceRange[] = [];
  for (const part of text.split(',')) {
    const pieces = part.split(':');
    if (pieces.length === 1) {
      const bound = parseBound(pieces[0]!);
      ranges.push({ from: bound, to: bound });
    } else if (pieces.length === 2) {
      ranges.push({ from: parseBound(pieces[0]!), to: parseBound(pieces[1]!) });
    } else {
      throw new SequenceSetError(`"${part}" is not a valid range`);
    }
  }
  return ranges;
}

function ordered(a: number, b: number): [number, number] {
  return a <= b ? [a, b] : [b, a];
}

/**
 * Message sequence numbers selected by `set` in a mailbox of `count` messages, ascending, unique.
 * A number beyond the mailbox is an error (RFC 3501 9: seq-number must be a valid sequence number);
 * a range with `*` on an empty mailbox selects nothing.
 */
export function resolveSequenceNumbers(set: SequenceSet, count: number): number[] {
  const selected = new Uint8Array(count + 1);
  for (const range of set) {
    if (count === 0) {
      // "1:*" on an empty mailbox is what clients send to mean "everything": it selects nothing.
      if (range.from !== '*' && range.to !== '*') throw new SequenceSetError(`message ${range.from} does not exist: the mailbox is empty`);
      continue;
    }
    const from = range.from === '*' ? count : range.from;
    const to = range.to === '*' ? count : range.to;
    const [low, high] = ordered(from, to);
    if (high > count) throw new SequenceSetError(`message ${high} does not exist: the mailbox has ${count} messages`);
    for (let seq = low; seq <= high; seq++) selected[seq] = 1;
  }
  const result: number[] = [];
  for (let seq = 1; seq <= count; seq++) if (selected[seq]) result.push(seq);
  return result;
}

function lowerBoundIndex(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Indexes (0-based positions) of the UIDs in `sortedUids` that `set` selects, ascending.
 * `*` is the highest UID present, so "559:*" always includes the last message (RFC 3501 6.4.8).
 */
export function resolveUidIndexes(set: SequenceSet, sortedUids: readonly number[]): number[] {
  if (sortedUids.length === 0) return [];
  const largest = sortedUids[sortedUids.length - 1]!;
  const selected = new Uint8Array(sortedUids.length);
  for (const range of set) {
    const from = range.from === '*' ? largest : range.from;
    const to = range.to === '*' ? largest : range.to;
    const [low, high] = ordered(from, to);
    for (let i = lowerBoundIndex(sortedUids, low); i < sortedUids.length && sortedUids[i]! <= high; i++) selected[i] = 1;
  }
  const result: number[] = [];
  for (let i = 0; i < selected.length; i++) if (selected[i]) result.push(i);
  return result;
}

/** Whether `value` is inside `set`, with `*` standing for `largest`. */
export function sequenceSetContains(set: SequenceSet, value: number, largest: number): boolean {
  return set.some((range) => {
    const from = range.from === '*' ? largest : range.from;
    const to = range.to === '*' ? largest : range.to;
    const [low, high] = ordered(from, to);
    return value >= low && value <= high;
  });
}

/** Expands a set without `*` (as clients send in QRESYNC known-UIDs) into numbers, bounded. */
export function expandSequenceSet(set: SequenceSet, largest: number, countMax: number): number[] {
  const values: number[] = [];
  for (const range of set) {
    const from = range.from === '*' ? largest : range.from;
    const to = range.to === '*' ? largest : range.to;
    const [low, high] = ordered(from, to);
    for (let v = low; v <= high; v++) {
      if (values.length >= countMax) throw new SequenceSetError(`set selects more than ${countMax} messages`);
      values.push(v);
    }
  }
  return values;
}

/** "1:3,5,9:10" for the numbers in the order given (order matters for COPYUID pairs). */
export function formatSequenceSet(numbers: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < numbers.length) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    parts.push(j === i ? String(numbers[i]) : `${numbers[i]}:${numbers[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
