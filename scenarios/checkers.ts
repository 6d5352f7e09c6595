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

/** The final reads: what each INBOX holds, and why each INBOX that could not be read was not (it counts as empty). */
export interface InboxReads {
  readonly inboxes: Inboxes;
  readonly unreadable: ReadonlyMap<string, string>;
}

/**
 * `pendingDrops`: the audit's undelivered notifications, and `unreadable`: the INBOXes the final reads
 * could not read, with why; both named when mail is missing (stuck in a drop, unreadable, or gone).
 */
export function noLostMail(history: History, inboxes: Inboxes, pendingDrops: readonly string[] = [], unreadable: ReadonlyMap<string, string> = new Map()): CheckResult {
  const lost = history.mails().filter((m) => m.outcome === 'ok' && !(inboxes.get(m.to)?.get(m.subject) ?? 0));
  const pending = pendingDrops.length ? `; notifications still pending: ${pendingDrops.slice(0, 6).join('; ')}` : '; no notification pending in any drop';
  const unread = unreadable.size ? `; INBOX unreadable: ${[...unreadable].map(([user, why]) => `${user} (${why})`).join('; ')}` : '';
  if (!lost.length) return { name: 'no acknowledged mail lost', ok: true, detail: `${history.summary().ok} acknowledged mails all delivered` };
  const examples = lost.slice(0, 3).map((m) => `#${m.id} ${m.from}->${m.to} "${m.subject}"`).join('; ');
  return { name: 'no acknowledged mail lost', ok: false, detail: `${lost.length} acknowledged mails missing (${byRecipient(lost)}), e.g. ${examples}${pending}${unread}` };
}

/** "12 to a@x, 3 to b@y": how many of `mails` each recipient misses, most first. */
function byRecipient(mails: readonly { to: string }[]): string {
  const counts = new Map<string, number>();
  for (const m of mails) counts.set(m.to, (counts.get(m.to) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([to, n]) => `${n} to ${to}`).join(', ');
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

/** Each user's received chat messages, in the order its conversation store holds them. */
export type Received = ReadonlyMap<string, readonly { from: string; text: string }[]>;

/**
 * chat-churn: per conversation (a sender to a recipient), what the recipient holds from that sender
 * must be what was sent, in the order it was sent: each message at most once, nothing refused, no
 * acknowledged message missing (no gap), and no message before one sent earlier. A message whose send
 * is unknown may be there or not, but in its place.
 */
export function chatConversations(history: History, received: Received): CheckResult[] {
  const doubled: string[] = [];
  const refusedYetThere: string[] = [];
  const strangers: string[] = [];
  const missing: string[] = [];
  const outOfOrder: string[] = [];
  const conversations = new Map<string, ReturnType<History['chats']>>();
  for (const op of history.chats()) {
    const key = `${op.from}->${op.to}`;
    conversations.set(key, [...(conversations.get(key) ?? []), op]);
  }
  for (const [key, sent] of conversations) {
    const { from, to } = sent[0]!;
    const position = new Map(sent.map((op, i) => [op.text, i]));
    const got = (received.get(to) ?? []).filter((m) => m.from === from && position.has(m.text)).map((m) => m.text);
    const counts = new Map<string, number>();
    for (const text of got) counts.set(text, (counts.get(text) ?? 0) + 1);
    for (const [text, n] of counts) if (n > 1) doubled.push(`"${text}" x${n}`);
    for (const op of sent) {
      if (op.outcome === 'failed' && counts.has(op.text)) refusedYetThere.push(`"${op.text}" (${op.error ?? 'refused'})`);
      if (op.outcome === 'ok' && !counts.has(op.text)) missing.push(`"${op.text}"`);
    }
    let last = -1;
    for (const text of got) {
      const i = position.get(text)!;
      if (i < last) outOfOrder.push(`${key}: "${text}" after "${sent[last]!.text}"`);
      last = Math.max(last, i);
    }
    const unknownSender = (received.get(to) ?? []).filter((m) => m.from !== from && m.text.includes(`${from}->${to}`));
    for (const m of unknownSender) strangers.push(`"${m.text}" from ${m.from}`);
  }
  const messages = history.chats().length;
  const acknowledged = history.chats().filter((op) => op.outcome === 'ok').length;
  const some = (list: string[]) => list.slice(0, 4).join('; ');
  const onceProblems = [doubled.length && `duplicates: ${some(doubled)}`, refusedYetThere.length && `refused yet delivered: ${some(refusedYetThere)}`, strangers.length && `from the wrong sender: ${some(strangers)}`].filter(
    (p): p is string => typeof p === 'string',
  );
  return [
    { name: 'every chat message arrives at most once, from its sender', ok: onceProblems.length === 0, detail: onceProblems.length ? onceProblems.join('; ') : `${messages} messages in ${conversations.size} conversations, no duplicate` },
    {
      name: 'no acknowledged chat message missing (no gap)',
      ok: missing.length === 0,
      detail: missing.length ? `${missing.length} of ${acknowledged} acknowledged messages missing, e.g. ${some(missing)}` : `${acknowledged} acknowledged messages all received`,
    },
    { name: 'each conversation is received in the order it was sent', ok: outOfOrder.length === 0, detail: outOfOrder.length ? `${outOfOrder.length} out of order, e.g. ${some(outOfOrder)}` : `${conversations.size} conversations in order` },
  ];
}

/** What a device's calendar holds at the end (calendar-churn): event file name -> its SUMMARY. */
export type CalendarView = ReadonlyMap<string, string>;

type CalendarWrite = ReturnType<History['calendarWrites']>[number];
const ABSENT = '(absent)';
const valueOf = (op: CalendarWrite) => (op.action === 'put' ? op.summary! : ABSENT);

/**
 * The states an event may end in: the last acknowledged write's (a PUT's summary, or absent after a
 * DELETE), or that of a write overlapping it in time (acknowledged, or unknown: it may have landed
 * after); with no acknowledged write, absent or what an unknown one wrote. A refused write (4xx) never.
 */
function allowedEnds(writes: readonly CalendarWrite[]): Set<string> {
  const acked = writes.filter((w) => w.outcome === 'ok').sort((a, b) => a.completedAtMs! - b.completedAtMs!);
  const last = acked[acked.length - 1];
  const unknown = writes.filter((w) => w.outcome !== 'ok' && w.outcome !== 'failed');
  if (!last) return new Set([ABSENT, ...unknown.map(valueOf)]);
  const overlapping = [...acked, ...unknown].filter((w) => (w.completedAtMs ?? Infinity) >= last.invokedAtMs);
  return new Set([valueOf(last), ...overlapping.map(valueOf)]);
}

/**
 * calendar-churn: every event ends as its last acknowledged write left it (an acknowledged PUT is there
 * with that content, an acknowledged DELETE absent, nothing refused shows), as every device sees it; and
 * the devices see one calendar (a forked log shows as two).
 */
export function calendarWrites(history: History, views: ReadonlyMap<string, CalendarView>, round?: string): CheckResult[] {
  // A soak runs calendar-churn again and again, each round in a calendar of its own: judge this round's events only.
  const writes = history.calendarWrites().filter((w) => round === undefined || w.name.startsWith(`${round}-`));
  const byName = new Map<string, CalendarWrite[]>();
  for (const w of writes) byName.set(w.name, [...(byName.get(w.name) ?? []), w]);
  const wrong: string[] = [];
  for (const [device, view] of views) {
    for (const [name, writes] of byName) {
      const end = view.get(name) ?? ABSENT;
      const lastAcked = writes.filter((w) => w.outcome === 'ok').sort((a, b) => a.completedAtMs! - b.completedAtMs!).pop();
      if (!allowedEnds(writes).has(end)) wrong.push(`${device}: ${name} is ${end === ABSENT ? 'missing' : `"${end}"`}, last acknowledged: ${lastAcked ? valueOf(lastAcked) : 'none'}`);
    }
    for (const name of view.keys()) if (!byName.has(name)) wrong.push(`${device}: ${name} was never written`);
  }
  const [first, ...others] = [...views.entries()];
  const key = (v: CalendarView) => [...v.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([n, s]) => `${n}=${s}`).join('\n');
  const differing = others.filter(([, v]) => !first || key(v) !== key(first[1])).map(([d]) => d);
  const acked = writes.filter((w) => w.outcome === 'ok').length;
  return [
    {
      name: 'no acknowledged calendar write lost or undone',
      ok: wrong.length === 0 && byName.size > 0,
      detail: wrong.length
        ? `${wrong.length} wrong: ${wrong.slice(0, 4).join('; ')}`
        : byName.size === 0
          ? 'no calendar write was made'
          : `${acked} acknowledged writes of ${writes.length} on ${byName.size} events, each as last acknowledged`,
    },
    {
      name: 'the devices converge on one calendar',
      ok: views.size >= 2 && differing.length === 0,
      detail: differing.length ? `${differing.join(', ')} differ${differing.length === 1 ? 's' : ''} from ${first?.[0]}` : `${views.size} devices, ${first?.[1].size ?? 0} events each, identical`,
    },
  ];
}
