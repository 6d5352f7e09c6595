// SORT criteria (RFC 5256 3): parsing, the per-message keys they need, and the order itself.
// Ties are broken by sequence number, as the RFC requires.
import { failBad } from '../command';
import { imapLimits } from '../limits';
import type { SelectedMessage } from '../messageSet';
import type { ImapToken } from '../parser';
import type { ImapSession } from '../session';
import type { SortKeys } from './sortKeys';

export type SortKeyName = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO';

export interface SortCriterion {
  readonly key: SortKeyName;
  readonly reverse: boolean;
}

const keyNames = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO']);

export function parseSortCriteria(token: ImapToken | undefined): SortCriterion[] {
  if (token?.kind !== 'list' || token.items.length === 0) failBad('SORT needs a parenthesised list of sort criteria, e.g. (REVERSE DATE)');
  const criteria: SortCriterion[] = [];
  let reverse = false;
  for (const item of token.items) {
    const name = item.kind === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'REVERSE' && !reverse) {
      reverse = true;
      continue;
    }
    if (!keyNames.has(name)) failBad(`SORT: unknown sort criterion ${name || '(non-atom)'}`);
    criteria.push({ key: name as SortKeyName, reverse });
    reverse = false;
  }
  if (reverse) failBad('SORT: REVERSE must be followed by a sort key');
  return criteria;
}

/**
 * The sort keys of each message, in the order given: from the shared cache when there, else read
 * from the header of the message, a bounded number of loads at a time.
 */
export async function loadSortKeys(session: ImapSession, messages: readonly SelectedMessage[]): Promise<SortKeys[]> {
  const cache = session.deps.cache;
  const keys = new Array<SortKeys>(messages.length);
  const missing: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const cached = cache.cachedSortKeys(messages[i]!.message.ref);
    if (cached) keys[i] = cached;
    else missing.push(i);
  }
  if (missing.length === 0) return keys;
  const user = session.userOrThrow();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const i = missing[next++]!;
      const ref = messages[i]!.message.ref;
      keys[i] = await cache.sortKeys(ref, () => user.readMessage(ref));
    }
  };
  await Promise.all(Array.from({ length: Math.min(imapLimits.messageLoadsInFlightMax, missing.length) }, worker));
  return keys;
}

/** The criteria as a client writes them ("REVERSE DATE SUBJECT"): what a memo of their order is kept under. */
export const criteriaText = (criteria: readonly SortCriterion[]): string => criteria.map((c) => `${c.reverse ? 'REVERSE ' : ''}${c.key}`).join(' ');

export function needsHeaderKeys(criteria: readonly SortCriterion[]): boolean {
  return criteria.some((c) => c.key !== 'ARRIVAL' && c.key !== 'SIZE');
}

/** The sent date SORT DATE and THREAD use: Date:, or the internal date when it has none. */
export function sentDateOf(message: SelectedMessage, keys: SortKeys | undefined): number {
  return keys?.sentMs ?? message.message.internalDateMs;
}

function compareValues(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The messages in SORT order; `keys[i]` belongs to `messages[i]` (may be empty when not needed). */
export function sortMessages(messages: readonly SelectedMessage[], keys: readonly SortKeys[], criteria: readonly SortCriterion[]): SelectedMessage[] {
  const valueOf = (key: SortKeyName, i: number): number | string => {
    const m = messages[i]!;
    switch (key) {
      case 'ARRIVAL':
        return m.message.internalDateMs;
      case 'SIZE':
        return m.message.sizeOctets;
      case 'DATE':
        return sentDateOf(m, keys[i]);
      case 'SUBJECT':
        return keys[i]!.subject;
      case 'FROM':
        return keys[i]!.from;
      case 'TO':
        return keys[i]!.to;
      case 'CC':
        return keys[i]!.cc;
    }
  };
  // Each criterion's values computed once: the comparator only reads arrays.
  const columns = criteria.map((c) => ({ reverse: c.reverse, values: messages.map((_, i) => valueOf(c.key, i)) }));
  const order = messages.map((_, i) => i);
  order.sort((a, b) => {
    for (const column of columns) {
      const result = compareValues(column.values[a]!, column.values[b]!);
      if (result !== 0) return column.reverse ? -result : result;
    }
    return messages[a]!.seq - messages[b]!.seq;
  });
  return order.map((i) => messages[i]!);
}
