// Debian's fetchmail against a target: it logs in, fetches every unseen message of INBOX into a BSMTP
// file, and deletes them on the server (STORE \Deleted, EXPUNGE); with --keep a second run leaves them
// and fetches nothing new (it tracks \Seen). Over plaintext, or after STARTTLS when the target
// requires it. `fetchmailMissing` says why it cannot run.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { commandPath, type ClientTarget } from '../clientTarget';

const fetchmail = commandPath('fetchmail');
export const fetchmailMissing = fetchmail ? undefined : 'the fetchmail binary is missing (apt-get install -y fetchmail)';

function runFetchmail(home: string, rc: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  const rcPath = join(home, 'fetchmailrc');
  writeFileSync(rcPath, rc);
  chmodSync(rcPath, 0o600); // fetchmail refuses a readable password file
  return new Promise((resolve) => {
    execFile(
      fetchmail!,
      ['-f', rcPath, '--nodetach', '--nosyslog', '-v', ...args],
      { timeout: 60_000, env: { ...process.env, FETCHMAILHOME: home, HOME: home } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

function rcFor(target: ClientTarget, tls: boolean): string {
  const security = tls ? 'sslproto "tls1.2+" no sslcertck' : 'sslproto ""';
  return `poll ${target.host} service ${target.port} protocol IMAP auth password user "${target.user.address}" password "${target.user.password}" ${security} is root here\n`;
}

/** The scenario; the target's INBOX must be empty. */
export async function fetchmailFetchesAndDeletes(target: ClientTarget, tls: boolean): Promise<void> {
  await target.fill('INBOX', 2, (i) => [
    { raw: 'From: a@example.org\r\nSubject: first\r\n\r\nOne\r\n', internalDate: 1_700_000_000_000 },
    { raw: 'From: b@example.org\r\nSubject: second\r\n\r\nTwo\r\n', internalDate: 1_700_000_100_000 },
  ][i]!);
  const dir = mkdtempSync(join(tmpdir(), 'fetchmail-'));
  try {
    const first = await runFetchmail(dir, rcFor(target, tls), ['--bsmtp', join(dir, 'out.bsmtp')]);
    expect(first.code, first.output).toBe(0);
    if (tls) expect(first.output).toMatch(/STARTTLS/);
    const fetched = readFileSync(join(dir, 'out.bsmtp'), 'utf8');
    expect(fetched).toContain('Subject: first');
    expect(fetched).toContain('Subject: second');
    expect(await target.messages('INBOX')).toHaveLength(0);

    // --keep: fetched and marked \Seen but left; the next run has nothing new (exit code 1: no mail).
    await target.fill('INBOX', 1, () => ({ raw: 'From: c@example.org\r\nSubject: third\r\n\r\nThree\r\n', internalDate: 1_700_000_200_000 }));
    const kept = await runFetchmail(dir, rcFor(target, tls), ['--keep', '--bsmtp', join(dir, 'kept.bsmtp')]);
    expect(kept.code, kept.output).toBe(0);
    expect(readFileSync(join(dir, 'kept.bsmtp'), 'utf8')).toContain('Subject: third');
    const left = await target.messages('INBOX');
    expect(left).toHaveLength(1);
    expect(left[0]!.flags).toContain('\\Seen');
    const again = await runFetchmail(dir, rcFor(target, tls), ['--keep', '--bsmtp', join(dir, 'again.bsmtp')]);
    expect(again.code, again.output).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(await target.errors()).toEqual([]);
}
