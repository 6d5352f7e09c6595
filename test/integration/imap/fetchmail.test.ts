// Debian's fetchmail against the TCP server: it logs in, fetches every unseen message of INBOX into
// a BSMTP file, and deletes them on the server (STORE \Deleted, EXPUNGE); with --keep a second run
// leaves them and fetches nothing new (it tracks \Seen). Once over plaintext, once after STARTTLS.
// Skipped (with the reason printed) when fetchmail is missing.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate, startTestServer, type RunningServer } from './serverFixture';

function fetchmailPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v fetchmail'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const fetchmail = fetchmailPath();
if (!fetchmail) console.warn('skipping fetchmail integration test: the fetchmail binary is missing (apt-get install -y fetchmail)');

let running: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.server.close();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

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

function rcFor(port: number, tls: boolean): string {
  const security = tls ? 'sslproto "tls1.2+" no sslcertck' : 'sslproto ""';
  return `poll 127.0.0.1 service ${port} protocol IMAP auth password user "alice@lab.example" password "correct horse" ${security} is root here\n`;
}

describe.skipIf(!fetchmail)('fetchmail', () => {
  const certificate = fetchmail ? selfSignedCertificate() : undefined;
  for (const tls of certificate ? [false, true] : [false]) {
    it(`fetches INBOX into a file and deletes the messages on the server${tls ? ' (after STARTTLS)' : ''}`, async () => {
      running = await startTestServer(tls && certificate ? { tls: certificate, requireTls: true } : {});
      const { store } = running;
      await store.deliver('alice@lab.example', 'INBOX', 'From: a@example.org\r\nSubject: first\r\n\r\nOne\r\n', [], 1_700_000_000_000);
      await store.deliver('alice@lab.example', 'INBOX', 'From: b@example.org\r\nSubject: second\r\n\r\nTwo\r\n', [], 1_700_000_100_000);
      dir = mkdtempSync(join(tmpdir(), 'fetchmail-'));
      const bsmtp = join(dir, 'out.bsmtp');

      const first = await runFetchmail(dir, rcFor(running.server.port, tls), ['--bsmtp', bsmtp]);
      expect(first.code, first.output).toBe(0);
      if (tls) expect(first.output).toMatch(/STARTTLS/);
      const fetched = readFileSync(bsmtp, 'utf8');
      expect(fetched).toContain('Subject: first');
      expect(fetched).toContain('Subject: second');
      const session = await store.sessionFor('alice@lab.example');
      expect((await session.openFolder('INBOX')).messages).toHaveLength(0);

      // --keep: fetched and marked \Seen but left; the next run has nothing new (exit code 1: no mail).
      await store.deliver('alice@lab.example', 'INBOX', 'From: c@example.org\r\nSubject: third\r\n\r\nThree\r\n', [], 1_700_000_200_000);
      const kept = await runFetchmail(dir, rcFor(running.server.port, tls), ['--keep', '--bsmtp', join(dir, 'kept.bsmtp')]);
      expect(kept.code, kept.output).toBe(0);
      expect(readFileSync(join(dir, 'kept.bsmtp'), 'utf8')).toContain('Subject: third');
      const left = (await session.openFolder('INBOX')).messages;
      expect(left).toHaveLength(1);
      expect(left[0]!.flags).toContain('\\Seen');
      const again = await runFetchmail(dir, rcFor(running.server.port, tls), ['--keep', '--bsmtp', join(dir, 'again.bsmtp')]);
      expect(again.code, again.output).toBe(1);
      expect(running.log.lines.filter((l) => l.level === 'error')).toEqual([]);
    });
  }
});
