// A calendar collection is one log of its owner (issue 16): each iCalendar resource is a block (its
// reference, ETag and size are what the log keeps), the collection's properties live beside them,
// and the log's modification sequence is the collection's sync token (RFC 6578).
//   state   [1, highestModseq, forgottenThroughModseq, [displayName, description, color, components],
//            objects: [[name, ref, etag, sizeOctets, modseq], ...] by name, tombstones: [[name, modseq], ...] by name]
//   summary [highestModseq, objects]
// Preconditions (If-Match, If-None-Match: *) travel in the operation, so a write that loses the head's
// compare-and-swap and is re-applied on a newer head is checked against that head: another device's
// change is never overwritten blindly. Deleted names are remembered (bounded) for sync-collection.
import { CALENDAR_NAME_CHARS_MAX, CALENDAR_OBJECTS_MAX, CALENDAR_PROPERTY_CHARS_MAX, CALENDAR_TOMBSTONES_MAX } from '../../protocol/limits';
import type { Applied, LogModel } from '../log/logModel';

export const CALENDAR_LOG_KIND = 'calendar';

export interface CalendarObject {
  readonly name: string;
  /** The content's printable block reference (UserApp.store). */
  readonly ref: string;
  /** Strong ETag: a hash of the content, the same on every device. */
  readonly etag: string;
  readonly sizeOctets: number;
  readonly modseq: number;
}

export interface CalendarProps {
  readonly displayName: string;
  readonly description: string;
  readonly color: string;
  /** Component types the calendar accepts (supported-calendar-component-set): VEVENT, VTODO, ... */
  readonly components: readonly string[];
}

export interface CalendarState {
  readonly objects: Map<string, CalendarObject>;
  /** Deleted names and the modseq of their deletion. */
  readonly tombstones: Map<string, number>;
  highestModseq: number;
  /** Deletions at or below this were forgotten: a sync token this old is no longer valid. */
  forgottenThroughModseq: number;
  props: CalendarProps;
}

export interface CalendarSummary {
  readonly highestModseq: number;
  readonly objects: number;
}

/** `expect`: an ETag (If-Match), or NONE_MATCH (If-None-Match: *): the write happens only if it holds. */
export const NONE_MATCH = '*none';
export type CalendarOp =
  | { readonly type: 'put'; readonly name: string; readonly ref: string; readonly etag: string; readonly sizeOctets: number; readonly expect?: string }
  | { readonly type: 'delete'; readonly name: string; readonly expect?: string }
  | { readonly type: 'props'; readonly props: Partial<CalendarProps> };

export type PutOutcome = 'created' | 'updated' | 'unchanged' | 'precondition-failed' | 'full';
export type DeleteOutcome = 'deleted' | 'missing' | 'precondition-failed';
export type CalendarChange =
  | { readonly type: 'put'; readonly outcome: PutOutcome; readonly name: string; readonly before?: CalendarObject; readonly tombstoneBefore?: number; readonly highestBefore: number }
  | {
      readonly type: 'delete';
      readonly outcome: DeleteOutcome;
      readonly name: string;
      readonly before?: CalendarObject;
      readonly trimmed?: readonly [string, number];
      readonly forgottenBefore: number;
      readonly highestBefore: number;
    }
  | { readonly type: 'props'; readonly outcome: 'changed' | 'same'; readonly before: CalendarProps; readonly highestBefore: number };

export const DEFAULT_CALENDAR_PROPS: CalendarProps = { displayName: '', description: '', color: '', components: ['VEVENT', 'VTODO'] };

const bad = (what: string): never => {
  throw new Error(`calendar: ${what}`);
};
const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const nameAt = (x: unknown): string => (typeof x === 'string' && x.length > 0 && x.length <= CALENDAR_NAME_CHARS_MAX && !x.includes('/') ? x : bad('a name is not a bounded path segment'));
const textAt = (x: unknown): string => (typeof x === 'string' && x.length <= CALENDAR_PROPERTY_CHARS_MAX ? x : bad('a property is not a bounded string'));
const componentsAt = (x: unknown): string[] => (Array.isArray(x) && x.length <= 16 ? x.map((c) => (typeof c === 'string' && /^V[A-Z]{1,30}$/.test(c) ? c : bad('a component is not a V-name'))) : bad('components are not a list'));

/** The precondition `expect` against what is there now. */
function holds(expect: string | undefined, current: CalendarObject | undefined): boolean {
  if (expect === undefined) return true;
  if (expect === NONE_MATCH) return current === undefined;
  return current?.etag === expect;
}

function applyPut(state: CalendarState, op: Extract<CalendarOp, { type: 'put' }>): Applied<CalendarChange> {
  const current = state.objects.get(op.name);
  const none = (outcome: PutOutcome) => ({ effective: false, change: { type: 'put' as const, outcome, name: op.name, highestBefore: state.highestModseq } });
  // The same content again (a retried PUT) succeeds without a change, whatever its precondition said.
  if (current?.etag === op.etag) return none('unchanged');
  if (!holds(op.expect, current)) return none('precondition-failed');
  if (!current && state.objects.size >= CALENDAR_OBJECTS_MAX) return none('full');
  const tombstoneBefore = state.tombstones.get(op.name);
  const change: CalendarChange = {
    type: 'put',
    outcome: current ? 'updated' : 'created',
    name: op.name,
    ...(current ? { before: current } : {}),
    ...(tombstoneBefore !== undefined ? { tombstoneBefore } : {}),
    highestBefore: state.highestModseq,
  };
  state.highestModseq++;
  state.tombstones.delete(op.name);
  state.objects.set(op.name, { name: op.name, ref: op.ref, etag: op.etag, sizeOctets: op.sizeOctets, modseq: state.highestModseq });
  return { effective: true, change };
}

/** The oldest remembered deletion (by modseq, so every replica trims the same one). */
function oldestTombstone(state: CalendarState): [string, number] | undefined {
  let oldest: [string, number] | undefined;
  for (const [name, modseq] of state.tombstones) if (!oldest || modseq < oldest[1]) oldest = [name, modseq];
  return oldest;
}

function applyDelete(state: CalendarState, op: Extract<CalendarOp, { type: 'delete' }>): Applied<CalendarChange> {
  const current = state.objects.get(op.name);
  const base = { type: 'delete' as const, name: op.name, forgottenBefore: state.forgottenThroughModseq, highestBefore: state.highestModseq };
  if (!current) return { effective: false, change: { ...base, outcome: 'missing' } };
  if (!holds(op.expect, current)) return { effective: false, change: { ...base, outcome: 'precondition-failed' } };
  const trimmed = state.tombstones.size >= CALENDAR_TOMBSTONES_MAX ? oldestTombstone(state) : undefined;
  if (trimmed) {
    state.tombstones.delete(trimmed[0]);
    state.forgottenThroughModseq = Math.max(state.forgottenThroughModseq, trimmed[1]);
  }
  state.highestModseq++;
  state.objects.delete(op.name);
  state.tombstones.set(op.name, state.highestModseq);
  return { effective: true, change: { ...base, outcome: 'deleted', before: current, ...(trimmed ? { trimmed } : {}) } };
}

function applyProps(state: CalendarState, op: Extract<CalendarOp, { type: 'props' }>): Applied<CalendarChange> {
  const before = state.props;
  const next: CalendarProps = { ...before, ...op.props };
  const same = next.displayName === before.displayName && next.description === before.description && next.color === before.color && next.components.join() === before.components.join();
  if (same) return { effective: false, change: { type: 'props', outcome: 'same', before, highestBefore: state.highestModseq } };
  state.props = next;
  state.highestModseq++;
  return { effective: true, change: { type: 'props', outcome: 'changed', before, highestBefore: state.highestModseq - 1 } };
}

function apply(state: CalendarState, op: CalendarOp): Applied<CalendarChange> {
  switch (op.type) {
    case 'put':
      return applyPut(state, op);
    case 'delete':
      return applyDelete(state, op);
    case 'props':
      return applyProps(state, op);
  }
}

function revert(state: CalendarState, change: CalendarChange): void {
  state.highestModseq = change.highestBefore;
  switch (change.type) {
    case 'put':
      if (change.before) state.objects.set(change.name, change.before);
      else state.objects.delete(change.name);
      if (change.tombstoneBefore !== undefined) state.tombstones.set(change.name, change.tombstoneBefore);
      return;
    case 'delete':
      state.tombstones.delete(change.name);
      if (change.before) state.objects.set(change.name, change.before);
      if (change.trimmed) state.tombstones.set(change.trimmed[0], change.trimmed[1]);
      state.forgottenThroughModseq = change.forgottenBefore;
      return;
    case 'props':
      state.props = change.before;
  }
}

function encodeOp(op: CalendarOp): unknown {
  switch (op.type) {
    case 'put':
      return ['put', op.name, op.ref, op.etag, op.sizeOctets, op.expect ?? null];
    case 'delete':
      return ['delete', op.name, op.expect ?? null];
    case 'props':
      return ['props', op.props.displayName ?? null, op.props.description ?? null, op.props.color ?? null, op.props.components ?? null];
  }
}

const expectAt = (x: unknown): string | undefined => (x === null ? undefined : textAt(x));

function decodeOp(wire: unknown): CalendarOp {
  if (!Array.isArray(wire)) return bad('an operation is not a list');
  const [type, ...f] = wire as unknown[];
  if (type === 'put' && f.length === 5) {
    if (!isUint(f[3])) bad('a size is not an integer');
    const expect = expectAt(f[4]);
    return { type: 'put', name: nameAt(f[0]), ref: textAt(f[1]), etag: textAt(f[2]), sizeOctets: f[3] as number, ...(expect !== undefined ? { expect } : {}) };
  }
  if (type === 'delete' && f.length === 2) {
    const expect = expectAt(f[1]);
    return { type: 'delete', name: nameAt(f[0]), ...(expect !== undefined ? { expect } : {}) };
  }
  if (type === 'props' && f.length === 4) {
    const props: { -readonly [K in keyof CalendarProps]?: CalendarProps[K] } = {};
    if (f[0] !== null) props.displayName = textAt(f[0]);
    if (f[1] !== null) props.description = textAt(f[1]);
    if (f[2] !== null) props.color = textAt(f[2]);
    if (f[3] !== null) props.components = componentsAt(f[3]);
    return { type: 'props', props };
  }
  return bad(`unknown operation ${String(type)}`);
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function encodeState(s: CalendarState): unknown {
  const objects = [...s.objects.values()].sort(byName).map((o) => [o.name, o.ref, o.etag, o.sizeOctets, o.modseq]);
  const tombstones = [...s.tombstones].map(([name, modseq]) => ({ name, modseq })).sort(byName).map((t) => [t.name, t.modseq]);
  return [1, s.highestModseq, s.forgottenThroughModseq, [s.props.displayName, s.props.description, s.props.color, s.props.components], objects, tombstones];
}

function decodeState(wire: unknown): CalendarState {
  if (!Array.isArray(wire) || wire.length !== 6 || wire[0] !== 1) return bad('unknown state format');
  const [, highestModseq, forgottenThroughModseq, props, objects, tombstones] = wire as unknown[];
  if (!isUint(highestModseq) || !isUint(forgottenThroughModseq)) return bad('counters are not integers');
  if (!Array.isArray(props) || props.length !== 4) return bad('properties are not a 4-field record');
  if (!Array.isArray(objects) || objects.length > CALENDAR_OBJECTS_MAX) return bad('objects are not a bounded list');
  if (!Array.isArray(tombstones) || tombstones.length > CALENDAR_TOMBSTONES_MAX) return bad('tombstones are not a bounded list');
  const state: CalendarState = {
    objects: new Map(),
    tombstones: new Map(),
    highestModseq,
    forgottenThroughModseq,
    props: { displayName: textAt(props[0]), description: textAt(props[1]), color: textAt(props[2]), components: componentsAt(props[3]) },
  };
  for (const o of objects) {
    if (!Array.isArray(o) || o.length !== 5 || !isUint(o[3]) || !isUint(o[4]) || o[4] > highestModseq) bad('an object is not [name, ref, etag, size, modseq]');
    state.objects.set(nameAt(o[0]), { name: nameAt(o[0]), ref: textAt(o[1]), etag: textAt(o[2]), sizeOctets: o[3], modseq: o[4] });
  }
  for (const t of tombstones) {
    if (!Array.isArray(t) || t.length !== 2 || !isUint(t[1]) || t[1] > highestModseq) bad('a tombstone is not [name, modseq]');
    state.tombstones.set(nameAt(t[0]), t[1]);
  }
  return state;
}

/**
 * A fork's lost branch carried into the winner: resources it wrote that the winner does not hold in
 * that version (the lost side's later write wins nothing by default, but is not lost: it is re-put).
 * A deletion on the lost side only is not replayed: the resource comes back and the user deletes it again.
 */
function recover(lost: CalendarState, winner: CalendarState): CalendarOp[] {
  const ops: CalendarOp[] = [];
  for (const o of [...lost.objects.values()].sort(byName)) {
    if (winner.objects.get(o.name)?.etag !== o.etag && !(winner.tombstones.has(o.name) && o.modseq <= (winner.tombstones.get(o.name) ?? 0))) {
      if (!winner.objects.has(o.name) || o.modseq > winner.objects.get(o.name)!.modseq) ops.push({ type: 'put', name: o.name, ref: o.ref, etag: o.etag, sizeOctets: o.sizeOctets });
    }
  }
  return ops;
}

export const calendarModel: LogModel<CalendarState, CalendarOp, CalendarChange, CalendarSummary> = {
  kind: CALENDAR_LOG_KIND,
  initial: () => ({ objects: new Map(), tombstones: new Map(), highestModseq: 0, forgottenThroughModseq: 0, props: DEFAULT_CALENDAR_PROPS }),
  apply,
  revert,
  recover,
  summarize: (s) => ({ highestModseq: s.highestModseq, objects: s.objects.size }),
  encodeOp,
  decodeOp,
  encodeState,
  decodeState,
  encodeSummary: (s) => [s.highestModseq, s.objects],
  decodeSummary(wire) {
    if (!Array.isArray(wire) || wire.length !== 2 || !wire.every(isUint)) return bad('summary is not two counters');
    return { highestModseq: wire[0] as number, objects: wire[1] as number };
  },
};

/** What changed since `modseq` (sync-collection): resources written after it, and names deleted after it. `undefined`: the token is too old. */
export function changesSince(state: CalendarState, modseq: number): { changed: CalendarObject[]; deleted: string[] } | undefined {
  if (modseq < state.forgottenThroughModseq || modseq > state.highestModseq) return undefined;
  const changed = [...state.objects.values()].filter((o) => o.modseq > modseq).sort(byName);
  const deleted = [...state.tombstones].filter(([, m]) => m > modseq).map(([name]) => name).sort();
  return { changed, deleted };
}
