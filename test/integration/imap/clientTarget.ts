// What a real-client test runs against (issue 14): an IMAP endpoint, a user with a password, a way to
// fill a folder, and what the server holds and saw. Two kinds: the real IMAP server over the memory
// store in this process (fast: folders filled by direct delivery, state read from the store), and a
// user of a lab of node processes (NATS, LMDB, k = 3 replication: folders filled with MULTIAPPEND
// over IMAP, state read back over IMAP, the commands the node answered from its /metrics, errors from
// its log). A client scenario takes a target and cannot tell which it got.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { fillFolder, loggedIn } from '../../../bench/mail/fill';
import { quote } from '../../../bench/mail/rawImap';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT } from '../../../protocol/limits';
import type { ImapServerOptions } from '../../../actors/mail/imapServer';
import { startTestServer, type RunningServer } from './serverFixture';

export interface NewMessage {
  raw: string;
  flags?: readonly string[];
  /** Where the target can set it (the memory store); a lab APPEND gets the time of arrival. */
  internalDate?: number;
}

export interface StoredMessage {
  raw: string;
  flags: readonly string[];
}

export interface ClientTarget {
  readonly name: 'memory' | 'lab';
  readonly host: string;
  readonly port: number;
  readonly user: { readonly address: string; readonly password: string };
  /** The user's quota limit in bytes when the target sets one. */
  readonly quotaBytes?: number;
  /** Appends `count` messages to a folder of the user (made when missing), in index order. */
  fill(folder: string, count: number, message: (i: number) => NewMessage): Promise<void>;
  /** The folder's messages as the server holds them, in UID order. */
  messages(folder: string): Promise<StoredMessage[]>;
  /** How many times the server answered this IMAP command with this status ("COMPRESS", "OK"). */
  commandCount(command: string, status: string): Promise<number>;
  /** Errors the server logged since the target was made. */
  errors(): Promise<string[]>;
}

/** The path of an installed command, or undefined. */
export function commandPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Maildir files of a folder (cur and new). */
export function maildirFiles(folder: string): string[] {
  return ['cur', 'new'].flatMap((sub) => {
    try {
      return readdirSync(join(folder, sub)).map((name) => join(folder, sub, name));
    } catch {
      return [];
    }
  });
}

/** What the sync clients start from: INBOX "first" and "second" (\\Seen), Archive "archived" (\\Seen). */
export async function fillSyncFolders(target: ClientTarget): Promise<void> {
  await target.fill('INBOX', 2, (i) => [
    { raw: 'From: a@example.org\r\nSubject: first\r\n\r\nOne\r\n', internalDate: 1_700_000_000_000 },
    { raw: 'From: b@example.org\r\nSubject: second\r\n\r\nTwo\r\n', flags: ['\\Seen'], internalDate: 1_700_000_100_000 },
  ][i]!);
  await target.fill('Archive', 1, () => ({ raw: 'From: c@example.org\r\nSubject: archived\r\n\r\nThree\r\n', flags: ['\\Seen'], internalDate: 1_700_000_200_000 }));
}

export interface MemoryTarget {
  target: ClientTarget;
  running: RunningServer;
  close(): Promise<void>;
}

/** The IMAP server over a fresh memory store; its user alice@lab.example (or one with a quota). */
export async function startMemoryTarget(options: Partial<ImapServerOptions> & { quotaBytes?: number } = {}): Promise<MemoryTarget> {
  const { quotaBytes, ...serverOptions } = options;
  const commands = new Map<string, number>();
  const observer = {
    imap: (command: string, status: string, ms: number) => {
      commands.set(`${command} ${status}`, (commands.get(`${command} ${status}`) ?? 0) + 1);
      serverOptions.observer?.imap(command, status, ms);
    },
    smtp: () => undefined,
  };
  const running = await startTestServer({ ...serverOptions, observer });
  const { store } = running;
  const user = quotaBytes === undefined ? { address: 'alice@lab.example', password: 'correct horse' } : { address: 'quota@lab.example', password: 'pw' };
  if (quotaBytes !== undefined) store.addUser(user.address, user.password, { quotaBytes });
  const target: ClientTarget = {
    name: 'memory',
    host: '127.0.0.1',
    port: running.server.port,
    user,
    ...(quotaBytes === undefined ? {} : { quotaBytes }),
    async fill(folder, count, message) {
      for (let i = 0; i < count; i++) {
        const m = message(i);
        await store.deliver(user.address, folder, m.raw, m.flags ?? [], m.internalDate);
      }
    },
    async messages(folder) {
      const session = await store.sessionFor(user.address);
      const snapshot = await session.openFolder(folder);
      return Promise.all(snapshot.messages.map(async (m) => ({ raw: Buffer.from(await session.readMessage(m.ref)).toString(), flags: [...m.flags] })));
    },
    commandCount: async (command, status) => commands.get(`${command} ${status}`) ?? 0,
    errors: async () => running.log.lines.filter((l) => l.level === 'error').map((l) => JSON.stringify(l)),
  };
  return { target, running, close: () => running.server.close() };
}

/** What a lab test knows of lab.json. */
export interface LabFile {
  nodes: { id: string; pid: number; log: string; imap: { host: string; port: number }; http: { host: string; port: number } }[];
  users: { address: string; password: string; node: string }[];
}

/** A lab user as a target: IMAP of its home node, that node's /metrics and log; the organisation's default quota (lab up sets none). */
export function labTarget(lab: LabFile, address: string): ClientTarget {
  const user = lab.users.find((u) => u.address === address);
  if (!user) throw new Error(`no user ${address} in lab.json`);
  const node = lab.nodes.find((n) => n.id === user.node)!;
  const logStart = existsSync(node.log) ? statSync(node.log).size : 0;
  const endpoint = { host: node.imap.host, port: node.imap.port };
  const credentials = { address: user.address, password: user.password };
  return {
    name: 'lab',
    host: node.imap.host,
    port: node.imap.port,
    user: credentials,
    quotaBytes: MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
    async fill(folder, count, message) {
      const probe = await loggedIn(endpoint, credentials);
      try {
        if ((await probe.command(`STATUS ${quote(folder)} (MESSAGES)`)).status !== 'OK') {
          const created = await probe.command(`CREATE ${quote(folder)}`);
          if (created.status !== 'OK') throw new Error(`CREATE ${folder}: ${created.status} [${created.code}] ${created.text}`);
        }
      } finally {
        await probe.close();
      }
      const result = await fillFolder({
        imap: endpoint,
        user: credentials,
        folder,
        from: 0,
        to: count,
        message: (i) => {
          const m = message(i);
          return { raw: Buffer.from(m.raw), flags: m.flags ?? [] };
        },
      });
      if (!result.complete || result.messages !== count) throw new Error(`fill of ${folder}: ${result.messages} of ${count} appended`);
      console.log(`lab fill: ${count} messages into ${user.address} ${folder} in ${result.seconds} s (${result.perSecond}/s, ${result.method})`);
    },
    async messages(folder) {
      const client = new ImapFlow({ ...endpoint, secure: false, auth: { user: user.address, pass: user.password }, logger: false, disableAutoIdle: true });
      await client.connect();
      try {
        const box = await client.mailboxOpen(folder, { readOnly: true });
        if (box.exists === 0) return [];
        const out: StoredMessage[] = [];
        for await (const m of client.fetch('1:*', { source: true, flags: true, uid: true })) out.push({ raw: m.source?.toString() ?? '', flags: [...(m.flags ?? [])] });
        return out;
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
    async commandCount(command, status) {
      const response = await fetch(`http://${node.http.host}:${node.http.port}/metrics`, { signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      const line = text.split('\n').find((l) => l.startsWith(`post_imap_command_ms_count{command="${command}",status="${status}"} `));
      return line ? Number(line.split(' ').pop()) : 0;
    },
    async errors() {
      if (!existsSync(node.log)) return [];
      const lines = readFileSync(node.log).subarray(logStart).toString('utf8').split('\n');
      return lines.filter((l) => /"level":"(error|fatal)"/.test(l));
    },
  };
}
