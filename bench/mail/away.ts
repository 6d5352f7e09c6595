// Phase away (issue 13): mail of a user logged in on a node that does not host them. POST promises that
// no single machine matters: any node where the user has a session delivers their mail, the home node
// or not. Measured on another node of the organisation (the target's awayHost), from the start of an
// SMTP submission there to the EXISTS on the user's IDLE session there:
//   after login the home node is killed and the user has no session anywhere: mail waits in the drop
//               until a login on the away node delivers it: time from LOGIN to the last message
//               visible (SEARCH by Message-ID, NOOP every 5 ms), goal <= 5 s;
//   home down   then pushed to an IDLE session there: only the session's node delivers, goal <= 1 s;
//   home up     the home node back: both deliver, the first to append wins.
// The reference is one server: it has no other node, and the phase says so instead of measuring.
import { randomBytes } from 'node:crypto';
import { round, summary } from '../stats';
import { closeClient, imapClient } from './imapflowClient';
import { InboxWatcher, smtpSubmitter, submit } from './endToEnd';
import { e2eMessage } from './messages';
import { definePhase, type BenchSize } from './phase';
import { sleep, userNamed, type Log, type MailTarget } from './target';

export interface AwayOptions {
  /** Messages measured one at a time, with the home up and then down. */
  pushMessages: number;
  /** Messages waiting in the drop for the login. */
  waitingMessages: number;
  messageBytes: number;
  deliveryTimeoutMs: number;
}

export const awayOptions = (size: BenchSize): AwayOptions => ({
  pushMessages: { tiny: 3, quick: 20, full: 50 }[size],
  waitingMessages: { tiny: 3, quick: 10, full: 20 }[size],
  messageBytes: 4096,
  deliveryTimeoutMs: 60_000,
});

const LOGIN_POLL_MS = 5;

type AwayResult = { skipped: string } | { homeUpMs: ReturnType<typeof summary>; homeDownMs: ReturnType<typeof summary>; afterLoginMs: number; loginMs: number; waiting: number };

async function away(target: MailTarget, opts: AwayOptions, log: Log): Promise<AwayResult> {
  const host = target.awayHost;
  if (!host) {
    const skipped = 'one server: no other node to log in to';
    log(`    away: ${skipped}`);
    return { skipped };
  }
  const [sender, recipient] = [userNamed(target, 'awaysender'), userNamed(target, 'awayuser')];
  const there = { name: `${target.name}, away node`, smtp: host.smtp, imap: host.imap };
  const runId = `a${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const message = (phase: string, i: number) => e2eMessage(`${runId}${phase}`, i, sender.address, recipient.address, opts.messageBytes);
  const transport = smtpSubmitter(there, sender);
  let homeDown = false;
  let watcher: InboxWatcher | undefined;
  const pushed = async (phase: string): Promise<number[]> => {
    const latencies: number[] = [];
    for (let i = 0; i < opts.pushMessages; i++) {
      const { messageId, raw } = message(phase, i);
      const startMs = performance.now();
      await submit(transport, there, sender.address, recipient.address, raw);
      await watcher!.waitAll([messageId], opts.deliveryTimeoutMs);
      latencies.push(watcher!.seenAtMs.get(messageId)! - startMs);
    }
    return latencies;
  };
  try {
    // First, with nobody delivering: the home is killed, the user has no session anywhere (bench users have no standby hosts).
    await host.stopHome();
    homeDown = true;
    const ids: string[] = [];
    for (let i = 0; i < opts.waitingMessages; i++) {
      const { messageId, raw } = message('w', i);
      await submit(transport, there, sender.address, recipient.address, raw);
      ids.push(messageId);
    }
    const loginStart = performance.now();
    const client = await imapClient(there, recipient, { disableAutoIdle: true });
    const loginMs = round(performance.now() - loginStart, 1);
    try {
      await client.mailboxOpen('INBOX');
      const deadline = loginStart + opts.deliveryTimeoutMs;
      for (;;) {
        const found = (await client.search({ or: ids.map((id) => ({ header: { 'message-id': id } })) }, { uid: true })) || [];
        if (found.length >= ids.length) break;
        if (performance.now() > deadline) throw new Error(`away: ${found.length} of ${ids.length} waiting mails visible ${opts.deliveryTimeoutMs} ms after the login`);
        await client.noop();
        await sleep(LOGIN_POLL_MS);
      }
    } finally {
      await closeClient(client);
    }
    const afterLoginMs = round(performance.now() - loginStart, 1);
    log(`    away, ${opts.waitingMessages} mails waiting in the drop, the home killed: all visible on another node ${afterLoginMs} ms after LOGIN started (LOGIN took ${loginMs} ms)`);
    // Then pushed to an IDLE session there: with the home still down, and once it is back.
    watcher = await InboxWatcher.open(there, recipient, 'idle');
    const homeDownMs = summary(await pushed('d'));
    await host.startHome();
    homeDown = false;
    const homeUpMs = summary(await pushed('u'));
    log(`    away, a session on another node than the home: IDLE sees a mail after p50 ${homeDownMs.p50} ms, p99 ${homeDownMs.p99} ms with the home killed; p50 ${homeUpMs.p50} ms, p99 ${homeUpMs.p99} ms with it back (${opts.pushMessages} each)`);
    return { homeUpMs, homeDownMs, afterLoginMs, loginMs, waiting: opts.waitingMessages };
  } finally {
    transport.close();
    await watcher?.close();
    if (homeDown) await host.startHome();
  }
}

const measured = (r: AwayResult) => ('skipped' in r ? undefined : r);

export const awayPhase = definePhase<AwayOptions, AwayResult>({
  name: 'away',
  summary: 'a session on a node that does not host the user: push with the home up and killed, and mail waiting in the drop at login',
  options: awayOptions,
  users: () => ['awaysender', 'awayuser'],
  run: away,
  compare: (post) => {
    const row = (figure: string, pick: (r: Exclude<AwayResult, { skipped: string }>) => number, goal?: string) => ({ figure, reference: null, post: measured(post) ? pick(measured(post)!) : null, better: 'lower' as const, ...(goal ? { goal } : {}) });
    return [
      row('away push p50 ms (home up)', (r) => r.homeUpMs.p50, '<= 1000'),
      row('away push p99 ms (home up)', (r) => r.homeUpMs.p99),
      row('away push p50 ms (home killed)', (r) => r.homeDownMs.p50, '<= 1000'),
      row('away push p99 ms (home killed)', (r) => r.homeDownMs.p99, '<= 1000'),
      row('away: waiting mail visible after login, ms', (r) => r.afterLoginMs, '<= 5000'),
    ];
  },
});
