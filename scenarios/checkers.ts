// Checkers over a scenario's history and the system's final state (issue 7):
// - no mail acknowledged (250) is lost: every ok mail is in its recipient's INBOX;
// - every notification lands in INBOX exactly once: no mail appears twice (an unknown one at most once);
// - every block is back to k verified replicas;
// - no log fork survives (the replicas of every head agree);
// - a throughput floor: acknowledged mails per second under faults, a fraction of the same run's
//   unfaulted rate.
import type { History } from './history';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What each recipient's INBOX holds: subject -> how many times. */
export type Inboxes = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** `pendingDrops`: the audit's undelivered notifications, named when mail is missing (stuck in a drop, or gone). */
export function noLostMail(history: History, inboxes: Inboxes, pendingDrops: readonly string[] = []): CheckResult {
  const lost = history.mails().filter((m) => m.outcome === 'ok' && !(inboxes.get(m.to)?.get(m.subject) ?? 0));
  const pending = pendingDrops.length ? `; notifications still pending: ${pendingDrops.slice(0, 6).join('; ')}` : '; no notification pending in any drop';
  return {
    name: 'no acknowledged mail lost',
    ok: lost.length === 0,
    detail: lost.length ? `${lost.length} acknowledged mails missing, e.g. ${lost.slice(0, 3).map((m) => `#${m.id} ${m.from}->${m.to} "${m.subject}"`).join('; ')}${pending}` : `${history.summary().ok} acknowledged mails all delivered`,
  };
}

export function exactlyOnce(history: History, inboxes: Inboxes): CheckResult {
  const doubled: string[] = [];
  const failedButDelivered: string[] = [];
  for (const m of history.mails()) {
    const n = inboxes.get(m.to)?.get(m.subject) ?? 0;
    if (n > 1) doubled.push(`#${m.id} "${m.subject}" x${n}`);
    // A permanent refusal tells the sender it did not happen: delivering it anyway is a violation too.
    if (m.outcome === 'failed' && n > 0) failedButDelivered.push(`#${m.id} "${m.subject}" (${m.error ?? 'refused'})`);
  }
  const problems = [...(doubled.length ? [`duplicates: ${doubled.slice(0, 5).join(', ')}`] : []), ...(failedButDelivered.length ? [`refused yet delivered: ${failedButDelivered.slice(0, 5).join(', ')}`] : [])];
  return {
    name: 'every notification lands in INBOX exactly once',
    ok: problems.length === 0,
    detail: problems.length ? problems.join('; ') : 'no duplicates',
  };
}

export function replicasBack(underReplicated: number, k: number): CheckResult {
  return {
    name: `every block back to k=${k} verified replicas`,
    ok: underReplicated === 0,
    detail: underReplicated ? `${underReplicated} blocks still under-replicated after the heal phase` : 'all blocks fully replicated',
  };
}

export function noForks(forks: readonly string[]): CheckResult {
  return { name: 'no log fork survives', ok: forks.length === 0, detail: forks.length ? forks.slice(0, 5).join('; ') : 'every log head agrees across its replicas' };
}

/** Acknowledged mails per second over a stretch of a run. */
export interface Rate {
  readonly ok: number;
  readonly ms: number;
  readonly perSecond: number;
}

export const rateOf = (ok: number, ms: number): Rate => ({ ok, ms, perSecond: ok / Math.max(0.001, ms / 1000) });

/** The faulted workload keeps at least `fraction` of the unfaulted rate measured at the start of the same run. */
export function throughputFloor(workload: Rate, baseline: Rate, fraction: number, what = 'under faults'): CheckResult {
  const floor = baseline.perSecond * fraction;
  return {
    name: `throughput at least ${fraction} of the unfaulted rate`,
    ok: baseline.ok > 0 && workload.perSecond >= floor,
    detail:
      baseline.ok === 0
        ? 'no mail was acknowledged before the faults: no baseline to compare with'
        : `${workload.perSecond.toFixed(2)} acknowledged mails/s ${what} (${workload.ok} in ${(workload.ms / 1000).toFixed(1)} s); floor ${floor.toFixed(2)} = ${fraction} x ${baseline.perSecond.toFixed(2)} unfaulted`,
  };
}
