// Debian's isync (mbsync) against a target: a two-way sync to a Maildir and back. Messages on the
// server land in the Maildir; a message created in the Maildir and a flag set there show up over
// IMAP after the next sync; a message deleted there is expunged on the server. `mbsyncMissing` says
// why it cannot run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commandPath, fillSyncFolders, maildirFiles, type ClientTarget } from '../clientTarget';

const mbsync = commandPath('mbsync');
export const mbsyncMissing = mbsync ? undefined : 'the mbsync binary is missing (apt-get install -y isync)';

function config(target: ClientTarget, maildir: string): string {
  return [
    'IMAPAccount lab',
    `Host ${target.host}`,
    `Port ${target.port}`,
    `User ${target.user.address}`,
    `Pass "${target.user.password}"`,
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

/** The scenario; the target's user must have no messages yet. */
export async function mbsyncRoundTrip(target: ClientTarget): Promise<void> {
  await fillSyncFolders(target);
  const dir = mkdtempSync(join(tmpdir(), 'mbsync-'));
  try {
    const maildir = join(dir, 'mail');
    mkdirSync(maildir);
    const configPath = join(dir, 'mbsyncrc');
    writeFileSync(configPath, config(target, maildir));

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
    const onServer = await target.messages('INBOX');
    expect(onServer).toHaveLength(3);
    expect(onServer.some((m) => m.raw.includes('Subject: written locally') && m.raw.includes('From the Maildir'))).toBe(true);
    expect(onServer.find((m) => m.raw.includes('Subject: first'))!.flags).toContain('\\Flagged');

    // Deleting in the Maildir propagates as an expunge on the server.
    const local = maildirFiles(join(maildir, 'INBOX')).find((f) => readFileSync(f, 'utf8').includes('Subject: second'))!;
    rmSync(local);
    await runMbsync(configPath);
    expect(await target.messages('INBOX')).toHaveLength(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(await target.errors()).toEqual([]);
}
