// Live SEARCH and SORT results (RFC 5267 4.3, CONTEXT=SEARCH and CONTEXT=SORT): a command with
// RETURN (UPDATE) leaves a context on the selected mailbox, and every later change to its result is
// sent as an unsolicited ESEARCH with the command's tag: REMOVEFROM before the EXPUNGE of a message
// (so its sequence number is still valid), ADDTO after the EXISTS of a new one, and both when flags
// change what matches. SEARCH contexts use position 0 (mailbox order); SORT contexts give the
// position in the sort order, so the client can keep its list without asking again. Contexts end
// with the selection (SELECT, EXAMINE, CLOSE, UNSELECT) or with CANCELUPDATE.
import { failBad } from '../command';
import { atom, type ImapValue } from '../encoder';
import { imapLimits } from '../limits';
import type { SelectedMessage } from '../messageSet';
import type { SelectedMailbox } from '../selectedMailbox';
import { formatSequenceSet } from '../sequenceSet';
import type { ImapSession } from '../session';
import { criteriaText, loadSortKeys, needsHeaderKeys, sortMessages, type SortCriterion } from '../sort/sortOrder';
import { OrderMemo } from '../sort/orderMemo';
import { runSearch } from './runSearch';
import type { SearchProgram } from './searchProgram';

export interface SearchContext {
  readonly tag: string;
  /** Updates carry UIDs (UID SEARCH/SORT) or message numbers. */
  readonly uid: boolean;
  readonly program: SearchProgram;
  /** The SORT criteria; undefined for a SEARCH context (mailbox order, position 0). */
  readonly sort: readonly SortCriterion[] | undefined;
  /** The result the client holds, as UIDs in the requested order. */
  uids: number[];
}

/** One ADDTO or REMOVEFROM pair: a position (0 for SEARCH) and UIDs in the requested order. */
interface PositionedRun {
  readonly position: number;
  readonly uids: number[];
}

/** RETURN (UPDATE) under a tag that already has a context is refused before it runs (RFC 5267 4.3). */
export function checkContextTag(view: SelectedMailbox, tag: string): void {
  if (view.contexts.has(tag)) failBad(`Tag reuse: ${tag} already names a search context; use a new tag or CANCELUPDATE "${tag}"`);
}

/**
 * Keeps `context` live; beyond searchContextsMax it is refused with an untagged NO [NOUPDATE] and
 * the command's other results still stand (RFC 5267 4.3.1). Returns whether it was kept.
 */
export async function keepContext(session: ImapSession, view: SelectedMailbox, context: SearchContext): Promise<boolean> {
  if (view.contexts.size >= imapLimits.searchContextsMax) {
    const text = `Too many search contexts (${imapLimits.searchContextsMax}); CANCELUPDATE one to get updates for this search`;
    await session.status(undefined, 'NO', text, `NOUPDATE ${JSON.stringify(context.tag)}`);
    return false;
  }
  view.contexts.set(context.tag, context);
  return true;
}

/** Runs a program and orders it as its command asked: what SEARCH, SORT and their contexts return. */
export async function orderedResult(session: ImapSession, program: SearchProgram, sort: readonly SortCriterion[] | undefined): Promise<SelectedMessage[]> {
  const view = session.selectedOrThrow();
  // SORT of the whole folder: the order is the same as last time while the same messages are here.
  const memoKey = sort && OrderMemo.covers(program) ? `SORT ${criteriaText(sort)}` : undefined;
  const version = view.membershipVersion;
  const kept = memoKey === undefined ? undefined : view.orderMemo.sorted(memoKey, version, view.messages);
  if (kept) return kept;
  const found = await runSearch(session, program);
  if (!sort) return found;
  const keys = needsHeaderKeys(sort) ? await loadSortKeys(session, found) : [];
  const sorted = sortMessages(found, keys, sort);
  // Kept only if no message came or went while the keys were read (the order is of the view as it is now).
  if (memoKey !== undefined && view.membershipVersion === version) view.orderMemo.keepSorted(memoKey, version, sorted);
  return sorted;
}

/** Ascending positions (1-based) and their UIDs, consecutive positions grouped into runs. */
function runsOf(positions: readonly number[], uids: readonly number[]): PositionedRun[] {
  const runs: PositionedRun[] = [];
  positions.forEach((position, index) => {
    const last = runs[runs.length - 1];
    if (last && position === last.position + last.uids.length) last.uids.push(uids[index]!);
    else runs.push({ position, uids: [uids[index]!] });
  });
  return runs;
}

/** REMOVEFROM runs taking `gone` out of `context.uids` (and doing so); highest positions first, so each stays valid. */
function takeOut(context: SearchContext, gone: ReadonlySet<number>): PositionedRun[] {
  const positions: number[] = [];
  const uids: number[] = [];
  context.uids.forEach((uid, index) => {
    if (!gone.has(uid)) return;
    positions.push(index + 1);
    uids.push(uid);
  });
  if (uids.length === 0) return [];
  context.uids = context.uids.filter((uid) => !gone.has(uid));
  if (!context.sort) return [{ position: 0, uids }];
  return runsOf(positions, uids).reverse();
}

/** ADDTO runs bringing `context.uids` to `next` (which holds every UID it keeps, in the same order). */
function putIn(context: SearchContext, next: readonly number[]): PositionedRun[] {
  const held = new Set(context.uids);
  const positions: number[] = [];
  const uids: number[] = [];
  next.forEach((uid, index) => {
    if (held.has(uid)) return;
    positions.push(index + 1);
    uids.push(uid);
  });
  context.uids = [...next];
  if (uids.length === 0) return [];
  if (!context.sort) return [{ position: 0, uids }];
  return runsOf(positions, uids);
}

function pairs(runs: readonly PositionedRun[], idOf: (uid: number) => number): ImapValue[] {
  return runs.flatMap((run) => {
    const ids = run.uids.map(idOf);
    // SEARCH results are unordered sets: ascending gives the shortest form.
    return [run.position, atom(formatSequenceSet(run.position === 0 ? ids.sort((a, b) => a - b) : ids))];
  });
}

function updateResponse(context: SearchContext, removed: readonly PositionedRun[], added: readonly PositionedRun[], idOf: (uid: number) => number): ImapValue[] | undefined {
  if (removed.length === 0 && added.length === 0) return undefined;
  const values: ImapValue[] = [atom('ESEARCH'), [atom('TAG'), context.tag]];
  if (context.uid) values.push(atom('UID'));
  if (removed.length > 0) values.push(atom('REMOVEFROM'), pairs(removed, idOf));
  if (added.length > 0) values.push(atom('ADDTO'), pairs(added, idOf));
  return values;
}

/**
 * Before the EXPUNGE (or VANISHED) of `seqByUid`'s messages: REMOVEFROM for each context holding
 * any of them, numbered as the client still numbers them.
 */
export async function reportContextRemovals(session: ImapSession, view: SelectedMailbox, seqByUid: ReadonlyMap<number, number>): Promise<void> {
  const gone = new Set(seqByUid.keys());
  for (const context of view.contexts.values()) {
    const removed = takeOut(context, gone);
    const response = updateResponse(context, removed, [], (uid) => (context.uid ? uid : seqByUid.get(uid)!));
    if (response) await session.untagged(response);
  }
}

/** After EXISTS and flag changes: each context run again, and what changed in its result sent. */
export async function reportContextChanges(session: ImapSession, view: SelectedMailbox): Promise<void> {
  view.contextsStale = false;
  for (const context of view.contexts.values()) {
    const result = await orderedResult(session, context.program, context.sort);
    if (session.selected !== view || !view.contexts.has(context.tag)) return; // deselected meanwhile
    const next = result.map((m) => m.message.uid);
    const seqOf = new Map(result.map((m) => [m.message.uid, m.seq]));
    const keeping = new Set(next);
    const dropped = new Set(context.uids.filter((uid) => !keeping.has(uid)));
    const idOf = (uid: number): number => (context.uid ? uid : (seqOf.get(uid) ?? view.indexOfUid(uid) + 1));
    const removed = takeOut(context, dropped);
    const added = putIn(context, next);
    const response = updateResponse(context, removed, added, idOf);
    if (response) await session.untagged(response);
  }
}
