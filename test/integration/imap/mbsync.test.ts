// Debian's isync (mbsync) against the TCP server: a two-way sync to a Maildir and back. Messages
// on the server land in the Maildir; a message created in the Maildir and a flag set there show
// up over IMAP after the next sync. Skipped (with the reason printed) when mbsync is missing.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type RunningServer } from './serverFixture';

function mbsyncPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v mbsync'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const mbsync = mbsyncPath();
if (!mbsync) console.warn('skipping mbsync integration test: the mbsync binary is missing (apt-get install -y isync)');

function config(port: number, maildir: string): string {
  return [
    'IMAPAccount lab',
    'Host 127.0.0.1',
    `Port ${port}`,
    'User alice@lab.example',
    'Pass "correct horse"',
    'SSLType None',
    'AuthMechs LOGIN',
    'PipelineDepth 10',
    '',
    'IMAPStore remote',
    'Account lab',
    '',
    'MaildirStore local',
    `Path ${maildir}/`,
    `Inbox ${maildir}/INBOX`,
    'SubFolders Verbatim',
    '',
    'Channel lab',
    'Far :remote:',
    'Near :local:',
    'Patterns *',
    'Create Both',
    'Expunge Both',
    'SyncState *',
    '',
  ].join('\n');
}

function runMbsync(configPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(mbsync!, ['-c', configPath, '-a'], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`mbsync failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
}

function maildirFiles(folder: string): string[] {
  return ['cur', 'new'].flatMap((sub) => {
    try {
      return readdirSync(join(folder, sub)).map((name) => join(folder, sub, name));
    } catch {
      return [];
    }
  });
}

let running: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe.skipIf(!mbsync)('mbsync (isync)', () => {
  it('syncs the server to a Maildir and a new Maildir message back to the server', async () => {
    running = await startTestServer();
    const { store } = running;
    await store.deliver('alice@lab.example', 'INBOX', 'From: a@example.org\r\nSubject: first\r\n\r\nOne\r\n', [], 1_700_000_000_000);
    await store.deliver('alice@lab.example', 'INBOX', 'From: b@example.org\r\nSubject: second\r\n\r\nTwo\r\n', ['\\Seen'], 1_700_000_100_000);
    await store.deliver('alice@lab.example', 'Archive', 'From: c@example.org\r\nSubject: archived\r\n\r\nThree\r\n', ['\\Seen'], 1_700_000_200_000);
    dir = mkdtempSync(join(tmpdir(), 'mbsync-'));
    const maildir = join(dir, 'mail');
    mkdirSync(maildir);
    const configPath = join(dir, 'mbsyncrc');
    writeFileSync(configPath, config(running.server.port, maildir));

    await runMbsync(configPath);
    const inbox = maildirFiles(join(maildir, 'INBOX'));
    expect(inbox).toHaveLength(2);
    expect(inbox.map((f) => readFileSync(f, 'utf8')).join('\n')).toContain('Subject: second');
    expect(maildirFiles(join(maildir, 'Archive'))).toHaveLength(1);
    expect(inbox.some((f) => /:2,S$/.test(f))).toBe(true);

    // A message written into the Maildir by hand, and a flag set on a synced one.
    writeFileSync(join(maildir, 'INBOX', 'new', '1700000300.local1.host'), 'From: local@example.org\r\nSubject: written locally\r\n\r\nFrom the Maildir\r\n');
    const first = inbox.find((f) => readFileSync(f, 'utf8').includes('Subject: first'))!;
    renameSync(first, first.replace(/\/new\//, '/cur/').replace(/(:2,[A-Z]*)?$/, ':2,F'));

    await runMbsync(configPath);
    const session = await store.sessionFor('alice@lab.example');
    const snapshot = await session.openFolder('INBOX');
    expect(snapshot.messages).toHaveLength(3);
    const contents = await Promise.all(snapshot.messages.map(async (m) => Buffer.from(await session.readMessage(m.ref)).toString()));
    expect(contents.some((c) => c.includes('Subject: written locally') && c.includes('From the Maildir'))).toBe(true);
    const firstOnServer = snapshot.messages[contents.findIndex((c) => c.includes('Subject: first'))]!;
    expect(firstOnServer.flags).toContain('\\Flagged');

    // Deleting in the Maildir propagates as an expunge on the server.
    const local = maildirFiles(join(maildir, 'INBOX')).find((f) => readFileSync(f, 'utf8').includes('Subject: second'))!;
    rmSync(local);
    await runMbsync(configPath);
    expect((await session.openFolder('INBOX')).messages).toHaveLength(2);
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
