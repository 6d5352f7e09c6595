// Debian's offlineimap3 against a target, with COMPRESS=DEFLATE on (usecompression, through imaplib2's
// zlib): a sync of every folder to a Maildir, then a message written into the Maildir and a flag set
// there reach the server on the next sync. The server must have answered COMPRESS OK (its own count)
// and offlineimap must say it compressed. `offlineimapMissing` says why it cannot run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commandPath, fillSyncFolders, maildirFiles, type ClientTarget } from '../clientTarget';

const offlineimap = commandPath('offlineimap');
export const offlineimapMissing = offlineimap ? undefined : 'the offlineimap binary is missing (apt-get install -y offlineimap3)';

function config(target: ClientTarget, dir: string): string {
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
    `remotehost = ${target.host}`,
    `remoteport = ${target.port}`,
    `remoteuser = ${target.user.address}`,
    `remotepass = ${target.user.password}`,
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

/** The scenario; the target's user must have no messages yet. */
export async function offlineimapRoundTrip(target: ClientTarget): Promise<void> {
  await fillSyncFolders(target);
  const compressedBefore = await target.commandCount('COMPRESS', 'OK');
  const dir = mkdtempSync(join(tmpdir(), 'offlineimap-'));
  try {
    mkdirSync(join(dir, 'mail'));
    const configPath = join(dir, 'offlineimaprc');
    writeFileSync(configPath, config(target, dir));

    const output = await runOfflineimap(configPath, dir);
    expect(await target.commandCount('COMPRESS', 'OK')).toBeGreaterThan(compressedBefore);
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const onServer = await target.messages('INBOX');
  expect(onServer).toHaveLength(3);
  expect(onServer.some((m) => m.raw.includes('Subject: written locally') && m.raw.includes('From the Maildir'))).toBe(true);
  expect(onServer.find((m) => m.raw.includes('Subject: first'))!.flags).toContain('\\Flagged');
  expect(await target.errors()).toEqual([]);
}
