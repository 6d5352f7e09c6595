// Debian's offlineimap3 against the TCP server, with COMPRESS=DEFLATE on (usecompression, through
// imaplib2's zlib): a sync of every folder to a Maildir, then a message written into the Maildir and
// a flag set there reach the server on the next sync. Skipped (with the reason printed) when
// offlineimap is missing.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type RunningServer } from './serverFixture';

function offlineimapPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v offlineimap'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const offlineimap = offlineimapPath();
if (!offlineimap) console.warn('skipping offlineimap integration test: the offlineimap binary is missing (apt-get install -y offlineimap3)');

function config(port: number, dir: string): string {
  return [
    '[general]',
    'accounts = lab',
    `metadata = ${dir}/metadata`,
    'ui = basic',
    '',
    '[Account lab]',
    'localrepository = local',
    'remoterepository = remote',
    '',
    '[Repository local]',
    'type = Maildir',
    `localfolders = ${dir}/mail`,
    '',
    '[Repository remote]',
    'type = IMAP',
    'remotehost = 127.0.0.1',
    `remoteport = ${port}`,
    'remoteuser = alice@lab.example',
    'remotepass = correct horse',
    'ssl = no',
    'starttls = no',
    'usecompression = yes',
    'maxconnections = 1',
    '',
  ].join('\n');
}

function runOfflineimap(configPath: string, home: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(offlineimap!, ['-c', configPath, '-o', '-d', 'imap'], { timeout: 60_000, env: { ...process.env, HOME: home } }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error || /ERROR/.test(output)) reject(new Error(`offlineimap failed: ${error?.message ?? 'it reported an error'}\n${output}`));
      else resolve(output);
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

describe.skipIf(!offlineimap)('offlineimap', () => {
  it('syncs every folder to a Maildir over a compressed connection, and local changes back', async () => {
    const commands: string[] = [];
    running = await startTestServer({ observer: { imap: (command, status) => commands.push(`${command} ${status}`), smtp: () => undefined } });
    const { store } = running;
    await store.deliver('alice@lab.example', 'INBOX', 'From: a@example.org\r\nSubject: first\r\n\r\nOne\r\n', [], 1_700_000_000_000);
    await store.deliver('alice@lab.example', 'INBOX', 'From: b@example.org\r\nSubject: second\r\n\r\nTwo\r\n', ['\\Seen'], 1_700_000_100_000);
    await store.deliver('alice@lab.example', 'Archive', 'From: c@example.org\r\nSubject: archived\r\n\r\nThree\r\n', ['\\Seen'], 1_700_000_200_000);
    dir = mkdtempSync(join(tmpdir(), 'offlineimap-'));
    mkdirSync(join(dir, 'mail'));
    const configPath = join(dir, 'offlineimaprc');
    writeFileSync(configPath, config(running.server.port, dir));

    const output = await runOfflineimap(configPath, dir);
    expect(commands).toContain('COMPRESS OK');
    expect(output).toMatch(/COMPRESS DEFLATE/);
    const inbox = maildirFiles(join(dir, 'mail', 'INBOX'));
    expect(inbox).toHaveLength(2);
    expect(inbox.map((f) => readFileSync(f, 'utf8')).join('\n')).toContain('Subject: second');
    expect(inbox.some((f) => /:2,S$/.test(f))).toBe(true);
    expect(maildirFiles(join(dir, 'mail', 'Archive'))).toHaveLength(1);

    writeFileSync(join(dir, 'mail', 'INBOX', 'new', '1700000300.local1.host'), 'From: local@example.org\r\nSubject: written locally\r\n\r\nFrom the Maildir\r\n');
    const first = inbox.find((f) => readFileSync(f, 'utf8').includes('Subject: first'))!;
    renameSync(first, first.replace(/\/new\//, '/cur/').replace(/(:2,[A-Z]*)?$/, ':2,F'));
    await runOfflineimap(configPath, dir);

    const session = await store.sessionFor('alice@lab.example');
    const snapshot = await session.openFolder('INBOX');
    expect(snapshot.messages).toHaveLength(3);
    const contents = await Promise.all(snapshot.messages.map(async (m) => Buffer.from(await session.readMessage(m.ref)).toString()));
    expect(contents.some((c) => c.includes('Subject: written locally') && c.includes('From the Maildir'))).toBe(true);
    const firstOnServer = snapshot.messages[contents.findIndex((c) => c.includes('Subject: first'))]!;
    expect(firstOnServer.flags).toContain('\\Flagged');
    expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
