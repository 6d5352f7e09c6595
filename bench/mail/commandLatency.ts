// Phase latency: what one command costs an unloaded server, command by command, p50 and p99 over
// repeated runs, with the raw client (TCP_NODELAY, no parsing while the clock runs). One user, whose
// keys the server already holds (it logged in once before anything is timed), with folders made for
// the purpose: INBOX empty, F50 and F100 (50 and 100 messages), Big (10,000 in full mode), Appends
// (APPEND's target) and Scratch (a message per EXPUNGE). Every reply is checked: OK, and carrying
// what it should (the FETCH returned 100 messages with FLAGS and ENVELOPE, the SEARCH the right UIDs).
// CPU per command is the row's loop (with its untimed helper commands) divided by its runs.
import { fillFolder, loggedIn } from './fill';
import { measureRuns, type CommandFigures } from './measure';
import { mailboxFlags, mailboxMessage, mailboxMessageIndex, SUBJECT_TOPICS, subjectMatches } from './messages';
import { definePhase, type BenchSize, type Comparison } from './phase';
import { checkFetchAll, expectOk, fetchResponses, flagsOf, ImapProtocolError, numberedResponses, quote, RawImapClient, searchResults, untaggedNamed, type ImapReply } from './rawImap';
import { cpuMeter, cpuText, userNamed, warnIfClientBound, type Log, type MailTarget } from './target';

export interface LatencyOptions {
  /** Timed runs of each command. */
  runs: number;
  /** Timed runs of SELECT of the big folder (each may be long on a slow server). */
  bigRuns: number;
  /** Untimed runs before the timed ones. */
  warmUpRuns: number;
  bigFolderMessages: number;
  messageBytes: number;
}

export function latencyOptions(size: BenchSize): LatencyOptions {
  return {
    runs: { tiny: 3, quick: 30, full: 200 }[size],
    bigRuns: { tiny: 2, quick: 15, full: 50 }[size],
    warmUpRuns: size === 'tiny' ? 1 : 3,
    bigFolderMessages: { tiny: 60, quick: 1000, full: 10_000 }[size],
    messageBytes: 4096,
  };
}

const FILL_TEXT = 'pipelined over several connections';
const FOLDERS = { big: 'Big', f50: 'F50', f100: 'F100', appends: 'Appends', scratch: 'Scratch' };

/** What issue 11 asks of POST, unloaded (the big-folder goal holds for 10,000 messages). */
const GOALS_MS: Record<string, number> = {
  LOGIN: 10,
  'SELECT INBOX (empty)': 3,
  'SELECT Big': 20,
  'STORE +FLAGS (1 message)': 5,
  'APPEND 4 KiB': 10,
  'FETCH 1:* (FLAGS ENVELOPE), 100': 5,
  'UID SEARCH UNSEEN': 5,
  'UID SEARCH SUBJECT': 5,
};

function fail(what: string, why: string): never {
  throw new ImapProtocolError(`${what}: ${why}`);
}

function existsOf(reply: ImapReply): number | undefined {
  return numberedResponses(reply.untagged, 'EXISTS').at(-1);
}

async function commandLatency(target: MailTarget, opts: LatencyOptions, log: Log) {
  const user = userNamed(target, 'latency');
  const session = await loggedIn(target.imap, user); // the first login: the server unlocks what it must
  const figures: Record<string, CommandFigures> = {};
  const phaseMeter = cpuMeter(target);
  try {
    for (const folder of Object.values(FOLDERS)) expectOk(await session.command(`CREATE ${quote(folder)}`), `CREATE ${folder}`);
    const message = (i: number) => ({ raw: mailboxMessage(i, user.address, opts.messageBytes), flags: mailboxFlags(i) });
    const fill = (folder: string, count: number) => fillFolder({ imap: target.imap, user, folder, from: 0, to: count, message });
    await fill(FOLDERS.f50, 50);
    await fill(FOLDERS.f100, 100);
    await fill(FOLDERS.scratch, opts.runs + opts.warmUpRuns);
    const bigFill = await fill(FOLDERS.big, opts.bigFolderMessages);
    log(`    latency: folders filled (Big: ${opts.bigFolderMessages} messages at ${bigFill.perSecond} msg/s by ${bigFill.method}, ${FILL_TEXT})`);

    const measure = async (runs: number, once: (run: number) => Promise<Record<string, number>>) => {
      Object.assign(figures, await measureRuns(target, runs, opts.warmUpRuns, once));
    };
    const timed = async (label: string, text: string, check: (reply: ImapReply) => void, literal?: Buffer) => {
      const reply = await session.command(text, literal);
      check(reply);
      return { [label]: reply.ms };
    };

    // LOGIN and LOGOUT on a connection of their own each run (connecting is not timed).
    await measure(opts.runs, async () => {
      const client = await RawImapClient.connect(target.imap);
      const login = expectOk(await client.command(`LOGIN ${quote(user.address)} ${quote(user.password)}`), 'LOGIN');
      const logout = expectOk(await client.command('LOGOUT'), 'LOGOUT');
      if (untaggedNamed(logout.untagged, 'BYE').length !== 1) fail('LOGOUT', 'no untagged BYE');
      await client.close();
      return { LOGIN: login.ms, LOGOUT: logout.ms };
    });

    await measure(opts.runs, () =>
      timed('CAPABILITY', 'CAPABILITY', (r) => {
        expectOk(r, 'CAPABILITY');
        if (!untaggedNamed(r.untagged, 'CAPABILITY').some((values) => values.some((v) => String(v).toUpperCase() === 'IMAP4REV1'))) fail('CAPABILITY', 'no IMAP4rev1 in the answer');
      }),
    );
    await measure(opts.runs, () => timed('NOOP', 'NOOP', (r) => expectOk(r, 'NOOP')));
    await measure(opts.runs, () =>
      timed('LIST "" "*"', 'LIST "" "*"', (r) => {
        expectOk(r, 'LIST');
        const names = new Set(untaggedNamed(r.untagged, 'LIST').map((values) => String(values.at(-1))));
        for (const folder of ['INBOX', ...Object.values(FOLDERS)]) if (!names.has(folder)) fail('LIST', `${folder} is missing`);
      }),
    );
    await measure(opts.runs, () =>
      timed('STATUS F100 (MESSAGES UIDNEXT UNSEEN)', `STATUS ${FOLDERS.f100} (MESSAGES UIDNEXT UNSEEN)`, (r) => {
        expectOk(r, 'STATUS');
        const items = untaggedNamed(r.untagged, 'STATUS')[0]?.[3];
        const messages = Array.isArray(items) ? items[items.findIndex((v) => String(v).toUpperCase() === 'MESSAGES') + 1] : undefined;
        if (Number(messages) !== 100) fail('STATUS', `MESSAGES ${String(messages)}, expected 100`);
      }),
    );
    const selectCheck = (folder: string, count: number) => (r: ImapReply) => {
      expectOk(r, `SELECT ${folder}`);
      if (existsOf(r) !== count) fail(`SELECT ${folder}`, `${existsOf(r)} EXISTS, expected ${count}`);
    };
    await measure(opts.runs, () => timed('SELECT INBOX (empty)', 'SELECT INBOX', selectCheck('INBOX', 0)));
    await measure(opts.bigRuns, () => timed('SELECT Big', `SELECT ${FOLDERS.big}`, selectCheck(FOLDERS.big, opts.bigFolderMessages)));

    for (const count of [50, 100]) {
      const folder = count === 50 ? FOLDERS.f50 : FOLDERS.f100;
      selectCheck(folder, count)(await session.command(`SELECT ${folder}`));
      await measure(opts.runs, () => timed(`FETCH 1:* (FLAGS ENVELOPE), ${count}`, 'FETCH 1:* (FLAGS ENVELOPE)', (r) => checkFetchAll(r, count, ['FLAGS', 'ENVELOPE'], `FETCH 1:* of ${count}`)));
    }
    // F100 is selected. The UID of each message appended (the fill ran many APPENDs at once, so
    // UID order is not append order), from its Message-ID, for the checks below.
    const uidOf = new Map<number, number>();
    for (const f of fetchResponses(expectOk(await session.command('UID FETCH 1:* (UID ENVELOPE)'), 'UID FETCH 1:* (UID ENVELOPE)').untagged)) {
      const envelope = f.items.ENVELOPE;
      const index = mailboxMessageIndex(Array.isArray(envelope) ? String(envelope[9]) : '');
      if (index !== undefined) uidOf.set(index, Number(f.items.UID));
    }
    if (uidOf.size !== 100) fail('UID FETCH 1:* (UID ENVELOPE)', `${uidOf.size} of the 100 messages appended to F100 found by Message-ID`);
    const uids = [...uidOf.values()];
    const expectUids = (what: string, indexes: number[]) => (r: ImapReply) => {
      expectOk(r, what);
      const found = searchResults(r.untagged).sort((a, b) => a - b);
      const wanted = indexes.map((i) => uidOf.get(i)!).sort((a, b) => a - b);
      if (found.join() !== wanted.join()) fail(what, `${found.length} UIDs found, expected ${wanted.length}${found.length === wanted.length ? ' (other UIDs)' : ''}`);
    };
    const indexes = Array.from({ length: 100 }, (_, i) => i);
    await measure(opts.runs, () => timed('UID SEARCH UNSEEN', 'UID SEARCH UNSEEN', expectUids('UID SEARCH UNSEEN', indexes.filter((i) => !mailboxFlags(i).includes('\\Seen')))));
    const topic = 3;
    if (subjectMatches(100, topic) !== indexes.filter((i) => i % SUBJECT_TOPICS.length === topic).length) throw new Error('subjectMatches disagrees with mailboxMessage');
    await measure(opts.runs, () =>
      timed('UID SEARCH SUBJECT', `UID SEARCH SUBJECT ${quote(SUBJECT_TOPICS[topic]!)}`, expectUids('UID SEARCH SUBJECT', indexes.filter((i) => i % SUBJECT_TOPICS.length === topic))),
    );

    // STORE: \Answered on one message (none has it), taken off again untimed.
    await measure(opts.runs, async (run) => {
      const uid = uids[run % uids.length]!;
      const result = await timed('STORE +FLAGS (1 message)', `UID STORE ${uid} +FLAGS (\\Answered)`, (r) => {
        expectOk(r, 'STORE');
        const fetched = fetchResponses(r.untagged);
        if (fetched.length !== 1 || !flagsOf(fetched[0]!.items.FLAGS)?.includes('\\Answered')) fail('STORE', `the answer did not carry the message's new FLAGS (${fetched.length} FETCH responses)`);
      });
      expectOk(await session.command(`UID STORE ${uid} -FLAGS.SILENT (\\Answered)`), 'STORE -FLAGS');
      return result;
    });

    let appendIndex = 0;
    await measure(opts.runs, () =>
      timed(
        'APPEND 4 KiB',
        `APPEND ${FOLDERS.appends} ()`,
        (r) => {
          expectOk(r, 'APPEND');
          if (!/^APPENDUID \d+ \d+$/i.test(r.code)) fail('APPEND', `no APPENDUID in the answer (${r.code || 'no code'})`);
        },
        mailboxMessage(1000 + appendIndex++, user.address, opts.messageBytes),
      ),
    );

    // EXPUNGE: Scratch has a message per run; each run marks the first \Deleted (untimed) and expunges it.
    selectCheck(FOLDERS.scratch, opts.runs + opts.warmUpRuns)(await session.command(`SELECT ${FOLDERS.scratch}`));
    await measure(opts.runs, async () => {
      expectOk(await session.command('STORE 1 +FLAGS.SILENT (\\Deleted)'), 'STORE \\Deleted');
      return timed('EXPUNGE (1 message)', 'EXPUNGE', (r) => {
        expectOk(r, 'EXPUNGE');
        const expunged = numberedResponses(r.untagged, 'EXPUNGE');
        if (expunged.join() !== '1') fail('EXPUNGE', `expunged [${expunged.join(', ')}], expected [1]`);
      });
    });
  } finally {
    await session.close();
  }
  const cpu = phaseMeter();
  log(`    latency: ${Object.keys(figures).length} commands; ${cpuText(cpu)}`);
  for (const [label, f] of Object.entries(figures)) {
    log(`      ${label.padEnd(38)} p50 ${String(f.latencyMs.p50).padStart(8)} ms   p99 ${String(f.latencyMs.p99).padStart(8)} ms   server CPU ${f.serverCpuMsPerOp ?? '-'} ms/cmd`);
  }
  warnIfClientBound(cpu, 'latency', log);
  return { bigFolderMessages: opts.bigFolderMessages, runs: opts.runs, commands: figures, cpu };
}

export type LatencyResult = Awaited<ReturnType<typeof commandLatency>>;

export const commandLatencyPhase = definePhase<LatencyOptions, LatencyResult>({
  name: 'latency',
  summary: 'per-command latency, unloaded, p50/p99, raw IMAP client: LOGIN ... LOGOUT',
  options: latencyOptions,
  users: () => ['latency'],
  run: commandLatency,
  compare(post, reference) {
    const rows: Comparison[] = [];
    for (const [label, p] of Object.entries(post.commands)) {
      const r = reference.commands[label];
      const goal = GOALS_MS[label];
      const goalText = goal === undefined || (label === 'SELECT Big' && post.bigFolderMessages !== 10_000) ? undefined : `<= ${goal}`;
      rows.push({ figure: `${label} p50 ms`, reference: r?.latencyMs.p50 ?? null, post: p.latencyMs.p50, better: 'lower', ...(goalText ? { goal: goalText } : {}) });
      rows.push({ figure: `${label} p99 ms`, reference: r?.latencyMs.p99 ?? null, post: p.latencyMs.p99, better: 'lower' });
      rows.push({ figure: `${label} server CPU ms/cmd`, reference: r?.serverCpuMsPerOp ?? null, post: p.serverCpuMsPerOp, better: 'lower' });
    }
    return rows;
  },
});
