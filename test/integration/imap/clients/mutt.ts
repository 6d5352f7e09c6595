// Debian's mutt against a target, driven through a pseudo-terminal (util-linux `script`) with keys
// pushed from the command line: it opens an INBOX of `count` messages threaded (sort=threads, which
// makes mutt read every message's headers), limits it to one thread's subject, tags those messages,
// saves them to Archive (copy, \Deleted, EXPUNGE) and quits. `muttMissing` says why it cannot run.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commandPath, type ClientTarget, type NewMessage } from '../clientTarget';

const mutt = commandPath('mutt');
const script = commandPath('script');
export const muttMissing = !mutt ? 'mutt is missing (apt-get install -y mutt)' : !script ? 'script (util-linux) is missing' : undefined;

function muttrc(target: ClientTarget): string {
  return [
    `set folder="imap://${encodeURIComponent(target.user.address)}@${target.host}:${target.port}/"`,
    `set imap_pass="${target.user.password}"`,
    'set spoolfile="+INBOX"',
    'set ssl_starttls=no',
    'set ssl_force_tls=no',
    'set sort=threads',
    'set sort_aux=last-date-received',
    'set confirmappend=no',
    'set delete=yes',
    'set quit=yes',
    'set move=no',
    'set wait_key=no',
    'set mail_check=0',
    'set imap_keepalive=0',
    '',
  ].join('\n');
}

function runMutt(home: string, rcPath: string, keys: string, timeoutMs: number): Promise<string> {
  const command = `${mutt} -n -F ${rcPath} -e 'push "${keys}"'`;
  const env = { ...process.env, TERM: 'xterm', COLUMNS: '120', LINES: '40', HOME: home };
  return new Promise((resolve, reject) => {
    execFile(script!, ['-q', '-e', '-c', command, '/dev/null'], { timeout: timeoutMs, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`mutt failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Message i of the threaded INBOX: threads of three ("topic R", then two replies to it). */
export function threadedMessage(i: number): NewMessage {
  const root = i - (i % 3);
  const headers = [
    `From: sender${i % 7}@example.org`,
    `Subject: ${i % 3 ? 'Re: ' : ''}topic ${root}`,
    `Message-ID: <m${i}@example.org>`,
    ...(i % 3 ? [`In-Reply-To: <m${root}@example.org>`, `References: <m${root}@example.org>`] : []),
    `Date: Tue, 14 Nov 2023 ${String(10 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00 +0000`,
  ];
  return { raw: `${headers.join('\r\n')}\r\n\r\nbody ${i}\r\n`, internalDate: 1_700_000_000_000 + i * 1000 };
}

/** The scenario; the INBOX must be empty and `count` above 152 (the thread saved is "topic 150"). */
export async function muttThreadsAndArchives(target: ClientTarget, count: number, opts: { muttTimeoutMs?: number } = {}): Promise<void> {
  await target.fill('INBOX', count, threadedMessage);
  const dir = mkdtempSync(join(tmpdir(), 'mutt-'));
  try {
    const rcPath = join(dir, 'muttrc');
    writeFileSync(rcPath, muttrc(target));
    // Limit to the thread of "topic 150" (3 messages), tag them all, save to Archive, quit.
    await runMutt(dir, rcPath, '<limit>~s \\"topic 150\\$\\"<enter><tag-pattern>~A<enter><tag-prefix><save-message>=Archive<enter><quit>', opts.muttTimeoutMs ?? 60_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const archived = await target.messages('Archive');
  expect(archived.map((m) => /^Message-ID: <(m\d+)@/m.exec(m.raw)?.[1]).sort()).toEqual(['m150', 'm151', 'm152']);
  expect(await target.messages('INBOX')).toHaveLength(count - 3);
  expect(await target.errors()).toEqual([]);
}
