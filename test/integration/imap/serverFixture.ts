// Starts the real IMAP server (TCP, 127.0.0.1, port 0) over the memory backend for client tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startImapServer, type ImapServer, type ImapServerOptions } from '../../../actors/mail/imapServer';
import { MemoryMailStore } from '../../../mail/memory/backend';
import { wallClock } from '../../unit/imap/manualClock';
import { memoryLog } from '../../unit/imap/testLog';

export interface RunningServer {
  readonly server: ImapServer;
  readonly store: MemoryMailStore;
  readonly log: ReturnType<typeof memoryLog>;
}

export async function startTestServer(options: Partial<ImapServerOptions> = {}): Promise<RunningServer> {
  const store = new MemoryMailStore({ uidValidityStart: 5000 });
  store.addUser('alice@lab.example', 'correct horse');
  store.addUser('bob@lab.example', 'battery staple');
  const log = memoryLog();
  const server = await startImapServer({ authenticator: store.authenticator, clock: wallClock, log, port: 0, ...options });
  return { server, store, log };
}

/** A self-signed certificate made with openssl, or undefined when openssl is missing. */
export function selfSignedCertificate(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'imap-cert-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'],
      { stdio: 'ignore', timeout: 30_000 },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves when `check` holds, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
