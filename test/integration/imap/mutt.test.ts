// Debian's mutt against the TCP server, driven through a pseudo-terminal (util-linux `script`) with
// keys pushed from the command line: it opens a 3,000-message INBOX threaded (sort=threads, which
// makes mutt read every message's headers), limits it to one thread's subject, tags those messages,
// saves them to Archive (copy, \Deleted, EXPUNGE) and quits. Skipped, with the reason printed, when
// mutt or script is missing.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type RunningServer } from './serverFixture';

function commandPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const mutt = commandPath('mutt');
const script = commandPath('script');
if (!mutt || !script) console.warn(`skipping mutt integration test: ${mutt ? 'script (util-linux)' : 'mutt'} is missing (apt-get install -y mutt)`);

let running: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const messageCount = 3_000;

function muttrc(port: number): string {
  return [
    `set folder="imap://alice%40lab.example@127.0.0.1:${port}/"`,
    'set imap_pass="correct horse"',
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

function runMutt(rcPath: string, keys: string): Promise<string> {
  const command = `${mutt} -n -F ${rcPath} -e 'push "${keys}"'`;
  return new Promise((resolve, reject) => {
    execFile(script!, ['-q', '-e', '-c', command, '/dev/null'], { timeout: 60_000, env: { ...process.env, TERM: 'xterm', COLUMNS: '120', LINES: '40', HOME: dir! } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`mutt failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe.skipIf(!mutt || !script)('mutt', () => {
  it(`threads a ${messageCount}-message INBOX, then saves one thread to Archive`, async () => {
    running = await startTestServer();
    const { store } = running;
    for (let i = 0; i < messageCount; i++) {
      const root = i - (i % 3);
      const headers = [
        `From: sender${i % 7}@example.org`,
        `Subject: ${i % 3 ? 'Re: ' : ''}topic ${root}`,
        `Message-ID: <m${i}@example.org>`,
        ...(i % 3 ? [`In-Reply-To: <m${root}@example.org>`, `References: <m${root}@example.org>`] : []),
        `Date: Tue, 14 Nov 2023 ${String(10 + (i % 10)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00 +0000`,
      ];
      await store.deliver('alice@lab.example', 'INBOX', `${headers.join('\r\n')}\r\n\r\nbody ${i}\r\n`, [], 1_700_000_000_000 + i * 1000);
    }
    dir = mkdtempSync(join(tmpdir(), 'mutt-'));
    const rcPath = join(dir, 'muttrc');
    writeFileSync(rcPath, muttrc(running.server.port));

    // Limit to the thread of "topic 150" (3 messages), tag them all, save to Archive, quit.
    await runMutt(rcPath, '<limit>~s \\"topic 150\\$\\"<enter><tag-pattern>~A<enter><tag-prefix><save-message>=Archive<enter><quit>');

    const session = await store.sessionFor('alice@lab.example');
    const archived = (await session.openFolder('Archive')).messages;
    const contents = await Promise.all(archived.map(async (m) => Buffer.from(await session.readMessage(m.ref)).toString()));
    expect(contents.map((c) => /^Message-ID: <(m\d+)@/m.exec(c)?.[1]).sort()).toEqual(['m150', 'm151', 'm152']);
    expect((await session.openFolder('INBOX')).messages).toHaveLength(messageCount - 3);
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
