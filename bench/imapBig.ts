// SORT, THREAD and SEARCH over one big folder: the time per command of the real IMAP server (TCP on
// loopback, the in-memory backend) on a 100,000-message INBOX (10,000 with --quick). Baselines in
// the same run: NOOP (the round trip) and SEARCH ALL (a pass over the folder without content).
// "cold" is the first SORT, which reads every message's header once; every later SORT/THREAD
// uses the per-message sort-key cache. The lead compares these with Dovecot on the same data.
//   bin/post bench imap-big [--quick] [--json]
import net from 'node:net';
import { startImapServer } from '../actors/mail/imapServer';
import { wallClock } from '../infra/clock';
import { silentLog } from '../infra/log';
import { MemoryMailStore } from '../mail/memory/backend';
import { type Bench, round } from './stats';

const words = ['budget', 'lunch', 'release', 'meeting', 'report', 'holiday', 'invoice', 'server', 'review', 'draft', 'plan', 'garden'];

/** Message i of the folder: threads of up to 8 messages, 200 senders, a rare word in 1 of 1,000. */
export function bigFolderMessage(i: number): string {
  const thread = Math.floor(i / 8);
  const inThread = i % 8;
  const subject = `${inThread > 0 ? 'Re: ' : ''}${words[thread % words.length]} ${thread}`;
  const day = 1 + (i % 28);
  const body = Array.from({ length: 40 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ');
  return [
    `From: Sender ${i % 200} <sender${i % 200}@example.org>`,
    `To: user${i % 50}@example.org`,
    `Subject: ${subject}`,
    `Date: ${day} Mar 2024 ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00 +0000`,
    `Message-ID: <m${i}@example.org>`,
    ...(inThread > 0 ? [`References: <m${thread * 8}@example.org>${inThread > 1 ? ` <m${i - 1}@example.org>` : ''}`] : []),
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${body}${i % 1000 === 0 ? ' zyzzyva' : ''}`,
    '',
  ].join('\r\n');
}

/** Characters of the stream kept to find a reply's tagged line (longer than any tagged line here). */
const TAIL_CHARS = 4096;

/**
 * One IMAP connection for this bench. A reply is everything up to its tagged line; the bytes are only
 * collected until then, so the time taken is the server's, not a client re-scanning a growing buffer
 * (the previous client searched the whole reply on every chunk: a 3.5 MB FETCH 1:* measured the client).
 */
class RawClient {
  /** What arrived since the last reply, in chunks: a reply of megabytes is joined once, not per chunk. */
  private chunks: string[] = [];
  /** The last characters received, where the tagged line is looked for (it may straddle two chunks). */
  private tail = '';
  private waiting: { tag: string; resolve: (text: string) => void } | undefined;
  private counter = 0;
  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.chunks.push(chunk);
      this.tail = (this.tail + chunk).slice(-TAIL_CHARS);
      const waiting = this.waiting;
      if (!waiting) return;
      // The tagged line ends the reply (nothing follows it before our next command): it is in the tail.
      if (!this.tail.endsWith('\r\n')) return;
      const before = this.tail.lastIndexOf('\r\n', this.tail.length - 3);
      const lastLine = before < 0 ? 0 : before + 2;
      if (!this.tail.startsWith(`${waiting.tag} `, lastLine)) return;
      const text = this.chunks.join('');
      this.chunks = [];
      this.tail = '';
      this.waiting = undefined;
      waiting.resolve(text);
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.setNoDelay(true); // a command's reply and our next command must not wait for a delayed ACK
      socket.once('error', reject);
    });
  }

  /** Sends one command; resolves with everything up to and including its tagged reply. */
  command(line: string): Promise<string> {
    const tag = `b${++this.counter}`;
    return new Promise((resolve, reject) => {
      this.waiting = {
        tag,
        resolve: (text) => {
          const tagged = text.slice(text.lastIndexOf(`${tag} `));
          if (!tagged.startsWith(`${tag} OK`)) reject(new Error(`${line} failed: ${tagged.trim()}`));
          else resolve(text);
        },
      };
      this.socket.write(`${tag} ${line}\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

async function timed(client: RawClient, line: string): Promise<{ ms: number; bytes: number }> {
  const started = process.hrtime.bigint();
  const text = await client.command(line);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, bytes: text.length };
}

export const imapBigBench: Bench = {
  name: 'imap-big',
  summary: 'SORT, THREAD and SEARCH BODY over a 100,000-message folder (real IMAP server, in-memory backend)',
  async run({ quick, log }) {
    const count = quick ? 10_000 : 100_000;
    const store = new MemoryMailStore();
    store.addUser('bench', 'bench-password');
    const filling = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await store.deliver('bench', 'INBOX', bigFolderMessage(i), i % 3 === 0 ? ['\\Seen'] : [], Date.UTC(2024, 2, 1) + i * 60_000);
    log(`  ${count} messages in INBOX in ${round(Number(process.hrtime.bigint() - filling) / 1e9, 1)} s`);
    const server = await startImapServer({ authenticator: store.authenticator, clock: wallClock, log: silentLog, port: 0 });
    const client = await RawClient.connect(server.port);
    const results: Record<string, { ms: number; bytes: number }> = {};
    try {
      await client.command('LOGIN bench bench-password');
      results['SELECT INBOX'] = await timed(client, 'SELECT INBOX');
      const commands = [
        ['baseline NOOP', 'NOOP'],
        ['baseline SEARCH ALL', 'SEARCH ALL'],
        ['FETCH 1:* (FLAGS)', 'FETCH 1:* (FLAGS)'],
        ['UID FETCH 1:* (UID FLAGS RFC822.SIZE)', 'UID FETCH 1:* (UID FLAGS RFC822.SIZE)'],
        ['SORT (DATE) cold', 'SORT (DATE) UTF-8 ALL'],
        ['SORT (DATE)', 'SORT (DATE) UTF-8 ALL'],
        ['SORT (SUBJECT)', 'SORT (SUBJECT) UTF-8 ALL'],
        ['SORT (REVERSE FROM)', 'SORT (REVERSE FROM) UTF-8 ALL'],
        ['SORT (ARRIVAL) UNSEEN', 'SORT (ARRIVAL) UTF-8 UNSEEN'],
        ['ESORT RETURN (MIN MAX COUNT) (SUBJECT)', 'SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL'],
        ['THREAD REFERENCES', 'THREAD REFERENCES UTF-8 ALL'],
        ['THREAD ORDEREDSUBJECT', 'THREAD ORDEREDSUBJECT UTF-8 ALL'],
        ['SEARCH BODY (rare word)', 'SEARCH BODY zyzzyva'],
        ['SEARCH BODY (rare word) again', 'SEARCH BODY zyzzyva'],
        ['SEARCH TEXT (rare word)', 'SEARCH TEXT zyzzyva'],
        ['SEARCH FROM', 'SEARCH FROM sender7@example.org'],
        ['ESEARCH RETURN (COUNT) BODY', 'SEARCH RETURN (COUNT) BODY meeting'],
      ] as const;
      for (const [label, line] of commands) {
        results[label] = await timed(client, line);
        log(`  ${label.padEnd(40)} ${round(results[label].ms, 1).toString().padStart(9)} ms  (${results[label].bytes} bytes)`);
      }
      await client.command('LOGOUT').catch(() => undefined);
    } finally {
      client.close();
      await server.close();
    }
    return { messages: count, commandsMs: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, round(v.ms, 1)])) };
  },
};
