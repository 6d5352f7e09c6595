// Issue 5: unmodified mail clients end to end on the real lab. nodemailer sends, imapflow reads
// (IDLE and MOVE too), Python's smtplib and imaplib, mbsync to a Maildir and back; two users on two
// nodes exchange mail and each logs in from a third node and sees the same mailbox; the inbound MX.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { labTrouble, post, labDown } from './cli';

const run = promisify(execFile);
const dir = join(tmpdir(), `post-lab-mail-${process.pid}`);
let lab: any;
let labFile: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const user = (address: string) => lab.users.find((u: any) => u.address === address);
const nodeOf = (id: string) => lab.nodes.find((n: any) => n.id === id);
/** A node that hosts neither user: the "third node" both log in from. */
const thirdNode = (...ids: string[]) => lab.nodes.find((n: any) => !ids.includes(n.id));

function smtp(address: string, via = user(address).node) {
  const u = user(address);
  return nodemailer.createTransport({ host: '127.0.0.1', port: nodeOf(via).smtp.port, secure: false, auth: { user: u.address, pass: u.password }, tls: { rejectUnauthorized: false } });
}

async function imap(address: string, via = user(address).node): Promise<ImapFlow> {
  const u = user(address);
  const c = new ImapFlow({ host: '127.0.0.1', port: nodeOf(via).imap.port, secure: false, auth: { user: u.address, pass: u.password }, logger: false });
  await c.connect();
  return c;
}

async function waitForSubject(c: ImapFlow, folder: string, subject: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const lock = await c.getMailboxLock(folder);
    try {
      const uids = await c.search({ subject }, { uid: true });
      if (uids && uids.length) return uids[0]!;
    } finally {
      lock.release();
    }
    await sleep(200);
  }
  throw new Error(`no message "${subject}" in ${folder} after ${timeoutMs} ms`);
}

describe('lab: mail with real clients', () => {
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const r = await post(['lab', 'up', '--nodes', '5', '--users', '3', '--dir', dir], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    lab = JSON.parse(readFileSync(labFile, 'utf8'));
  }, 200_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(`lab after "${ctx.task.name}" failed:\n${labTrouble(lab)}`);
  });

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('nodemailer sends, imapflow reads it (ENVELOPE, BODYSTRUCTURE, source), IDLE sees the next at once, MOVE works', async () => {
    const reader = await imap('user2@lab.example');
    try {
      const info = await smtp('user1@lab.example').sendMail({ from: 'user1@lab.example', to: 'user2@lab.example', subject: 'first over ePOST', text: 'Hello from user1.\n' });
      expect(info.response).toMatch(/^250/);
      const uid = await waitForSubject(reader, 'INBOX', 'first over ePOST');
      const lock = await reader.getMailboxLock('INBOX');
      try {
        const m = await reader.fetchOne(String(uid), { envelope: true, bodyStructure: true, source: true }, { uid: true });
        expect(m && m.envelope?.from?.[0]?.address).toBe('user1@lab.example');
        expect(m && m.bodyStructure?.type).toMatch(/text\/plain/);
        expect(m && m.source?.toString()).toContain('Hello from user1.');
      } finally {
        lock.release();
      }
      // IDLE: the next message shows up as an untagged EXISTS without polling. (imapflow would enter
      // IDLE by itself only after a while; start it now. It returns when the next command ends it.)
      const box = await reader.mailboxOpen('INBOX');
      const before = box.exists;
      void reader.idle().catch(() => {});
      await sleep(200);
      const seen = new Promise<number>((resolve) => reader.on('exists', (e: any) => e.count > before && resolve(e.count)));
      const t0 = Date.now();
      const sent = smtp('user3@lab.example').sendMail({ from: 'user3@lab.example', to: 'user2@lab.example', subject: 'during idle', text: 'x' });
      const count = await Promise.race([seen, sleep(15_000).then(() => -1)]);
      await sent;
      expect(count).toBe(before + 1);
      console.log(`mail: IDLE saw the new message ${Date.now() - t0} ms after submission started`);
      // MOVE to Archive.
      const archived = await waitForSubject(reader, 'INBOX', 'during idle');
      const lock2 = await reader.getMailboxLock('INBOX');
      try {
        const moved = await reader.messageMove(String(archived), 'Archive', { uid: true });
        expect(moved).toBeTruthy();
      } finally {
        lock2.release();
      }
      await waitForSubject(reader, 'Archive', 'during idle');
    } finally {
      await reader.logout().catch(() => {});
    }
  }, 90_000);

  test('two users on two nodes exchange mail, and each sees the same mailbox from a third node', async () => {
    const a = user('user1@lab.example');
    const b = user('user2@lab.example');
    await smtp(a.address).sendMail({ from: a.address, to: b.address, subject: 'a to b', text: '1' });
    await smtp(b.address).sendMail({ from: b.address, to: a.address, subject: 'b to a', text: '2' });
    const third = thirdNode(a.node, b.node).id;
    for (const [who, subject] of [[a.address, 'b to a'], [b.address, 'a to b']] as const) {
      const home = await imap(who);
      const away = await imap(who, third);
      try {
        await waitForSubject(home, 'INBOX', subject);
        await waitForSubject(away, 'INBOX', subject);
        const list = async (c: ImapFlow) => {
          const lock = await c.getMailboxLock('INBOX');
          try {
            const out: string[] = [];
            for await (const m of c.fetch('1:*', { envelope: true, uid: true })) out.push(`${m.uid}:${m.envelope?.subject}`);
            return out;
          } finally {
            lock.release();
          }
        };
        expect(await list(away)).toEqual(await list(home));
      } finally {
        await home.logout().catch(() => {});
        await away.logout().catch(() => {});
      }
    }
  }, 90_000);

  test('a 100 KiB attachment sent over SMTP, APPENDed to Sent and mailed again is stored once; each message reads back byte for byte', async () => {
    const [a, b, c] = ['user1@lab.example', 'user2@lab.example', 'user3@lab.example'];
    const attachment = Buffer.alloc(100 * 1024);
    for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 2654435761) >>> 24;
    const compose = async (from: string, to: string, subject: string, text: string) =>
      (await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({ from, to, subject, text, attachments: [{ filename: 'report.bin', content: attachment }] })).message as Buffer;
    const stored = attachment.toString('base64').length; // one copy of the attachment as it travels
    // Bytes the whole ring holds, once replicas stopped changing (a put returns at a majority; the rest follows).
    const ringBytes = async () => {
      let last = -1;
      for (let i = 0; i < 20; i++) {
        const r = await post(['ring', 'status', '--lab', labFile, '--json']);
        const total = (JSON.parse(r.stdout).nodes as { bytes: number }[]).reduce((n, x) => n + x.bytes, 0);
        if (total === last) return total;
        last = total;
        await sleep(300);
      }
      throw new Error('the ring kept changing for 6 s');
    };
    const source = async (client: ImapFlow, folder: string, subject: string) => {
      const uid = await waitForSubject(client, folder, subject);
      const lock = await client.getMailboxLock(folder);
      try {
        const m = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (!m || !m.source) throw new Error(`no source for "${subject}" in ${folder}`);
        return m.source;
      } finally {
        lock.release();
      }
    };
    const first = await compose(a, b, 'the report', 'Here it is.');
    const second = await compose(c, a, 'the same report', 'You may have this one already.');
    const reader = await imap(b);
    const sender = await imap(a);
    try {
      const start = await ringBytes();
      await smtp(a).sendMail({ envelope: { from: a, to: [b] }, raw: first });
      const delivered = await source(reader, 'INBOX', 'the report');
      // As delivered: the gateway's Received header in front of the client's bytes.
      expect(delivered.subarray(delivered.length - first.length).equals(first)).toBe(true);
      const afterSend = await ringBytes();
      expect(afterSend - start).toBeGreaterThan(2 * stored); // k = 3 copies of the attachment (at least a majority): the measure sees storing
      await sender.append('Sent', first, ['\\Seen']);
      expect((await source(sender, 'Sent', 'the report')).equals(first)).toBe(true);
      const afterAppend = await ringBytes();
      await smtp(c).sendMail({ envelope: { from: c, to: [a] }, raw: second });
      const again = await source(sender, 'INBOX', 'the same report');
      expect(again.subarray(again.length - second.length).equals(second)).toBe(true);
      const afterSecond = await ringBytes();
      console.log(`mail parts: ring bytes +${afterSend - start} for the submission, +${afterAppend - afterSend} for its Sent copy, +${afterSecond - afterAppend} for another message with the same attachment`);
      expect(afterAppend - afterSend).toBeLessThan(stored);
      expect(afterSecond - afterAppend).toBeLessThan(stored);
    } finally {
      await reader.logout().catch(() => {});
      await sender.logout().catch(() => {});
    }
  }, 120_000);

  test('Python smtplib sends and imaplib reads', async () => {
    const a = user('user3@lab.example');
    const b = user('user1@lab.example');
    const script = join(dir, 'client.py');
    writeFileSync(
      script,
      `
import imaplib, smtplib, sys, time
from email.message import EmailMessage
a, ap, asmtp, b, bp, bimap = sys.argv[1:7]
m = EmailMessage(); m['From'] = a; m['To'] = b; m['Subject'] = 'from python'; m.set_content('smtplib body')
with smtplib.SMTP('127.0.0.1', int(asmtp)) as s:
    code, _ = s.docmd('NOOPX')
    assert code >= 500, code
    s.login(a, ap); s.send_message(m)
i = imaplib.IMAP4('127.0.0.1', int(bimap)); i.login(b, bp); i.select('INBOX')
for _ in range(60):
    typ, data = i.search(None, 'SUBJECT', '"from python"')
    if data[0]: break
    time.sleep(0.25)
num = data[0].split()[0]
typ, msg = i.fetch(num, '(BODY.PEEK[TEXT])')
print(msg[0][1].decode().strip())
typ, data = i.store(num, '+FLAGS', '\\\\Flagged')
print(typ)
i.logout()
`,
    );
    const r = await run('python3', [script, a.address, a.password, String(nodeOf(a.node).smtp.port), b.address, b.password, String(nodeOf(b.node).imap.port)], { timeout: 60_000 });
    expect(r.stdout).toContain('smtplib body');
    expect(r.stdout).toContain('OK');
  }, 90_000);

  test('mbsync syncs the mailbox to a Maildir and back', async () => {
    if (spawnSync('sh', ['-c', 'command -v mbsync']).status !== 0) {
      console.log('mbsync is not installed (apt-get install -y isync): skipping the mbsync test');
      return;
    }
    const u = user('user2@lab.example');
    const maildir = join(dir, 'maildir');
    mkdirSync(maildir, { recursive: true });
    const rc = join(dir, 'mbsyncrc');
    writeFileSync(
      rc,
      `IMAPAccount post
Host 127.0.0.1
Port ${nodeOf(u.node).imap.port}
User ${u.address}
Pass ${u.password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account post

MaildirStore local
Path ${maildir}/
Inbox ${maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
`,
    );
    await run('mbsync', ['-c', rc, '-a'], { timeout: 60_000 });
    const cur = [...readdirSync(join(maildir, 'INBOX', 'cur')), ...readdirSync(join(maildir, 'INBOX', 'new'))];
    expect(cur.length).toBeGreaterThanOrEqual(1);
    // A message created locally goes back to the server.
    const newMsg = join(maildir, 'INBOX', 'new', `${Date.now()}.local.x:2,`);
    writeFileSync(newMsg, 'From: user2@lab.example\r\nTo: user2@lab.example\r\nSubject: made in maildir\r\n\r\nlocal\r\n');
    await run('mbsync', ['-c', rc, '-a'], { timeout: 60_000 });
    const c = await imap(u.address);
    try {
      await waitForSubject(c, 'INBOX', 'made in maildir');
    } finally {
      await c.logout().catch(() => {});
    }
    expect(existsSync(maildir)).toBe(true);
  }, 120_000);

  test('the inbound MX accepts Internet mail for local users only, marked unauthenticated', async () => {
    const mx = lab.nodes.find((n: any) => n.mx);
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: mx.mx.port, secure: false, tls: { rejectUnauthorized: false } });
    await t.sendMail({ from: 'someone@internet.example', to: 'user1@lab.example', subject: 'from the internet', text: 'hi' });
    await expect(t.sendMail({ from: 'someone@internet.example', to: 'victim@elsewhere.example', subject: 'relay?', text: 'x' })).rejects.toThrow(/550|relay/i);
    const c = await imap('user1@lab.example');
    try {
      const uid = await waitForSubject(c, 'INBOX', 'from the internet');
      const lock = await c.getMailboxLock('INBOX');
      try {
        const m = await c.fetchOne(String(uid), { source: true }, { uid: true });
        expect(m && m.source?.toString()).toMatch(/^X-ePOST-Secure: False/m);
      } finally {
        lock.release();
      }
    } finally {
      await c.logout().catch(() => {});
    }
  }, 60_000);

  test('bad input: wrong password, malformed IMAP commands; the node carries on', async () => {
    const u = user('user1@lab.example');
    await expect(smtp(u.address).sendMail({ from: u.address, to: u.address, subject: 'x', text: 'x', auth: { user: u.address, pass: 'wrong' } } as any)).rejects.toThrow(/535|auth/i);
    const script = join(dir, 'bad.py');
    writeFileSync(
      script,
      `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
f = s.makefile('rb')
f.readline()
for line in [b'A1 FROB\\r\\n', b'garbage without tag\\r\\n', b'A2 LOGIN\\r\\n', b'A3 SELECT INBOX\\r\\n', b'A4 NOOP\\r\\n']:
    s.sendall(line); print(f.readline().decode().strip())
`,
    );
    const r = await run('python3', [script, String(nodeOf(u.node).imap.port)], { timeout: 30_000 });
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^A1 BAD/);
    expect(lines[2]).toMatch(/^A2 BAD/);
    expect(lines[3]).toMatch(/^A3 (BAD|NO)/);
    expect(lines[4]).toMatch(/^A4 OK/);
    const c = await imap(u.address);
    await c.logout();
  }, 60_000);

  test('/metrics counts and times every IMAP and SMTP command and every replicated read and write', async () => {
    const u = user('user2@lab.example');
    const node = nodeOf(u.node);
    const text = await (await fetch(`http://127.0.0.1:${node.http.port}/metrics`)).text();
    const count = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    // Earlier tests logged user2 in on its node, selected and fetched; user1 and user3 sent to it.
    expect(count(/^post_imap_command_ms_count\{command="LOGIN",status="OK"\} (\d+)/m)).toBeGreaterThan(0);
    expect(count(/^post_imap_command_ms_count\{command="SELECT",status="OK"\} (\d+)/m)).toBeGreaterThan(0);
    expect(text).toMatch(/^post_imap_command_ms_bucket\{command="[A-Z ]+",status="(OK|NO|BAD)",le="\+Inf"\} \d+$/m);
    expect(count(/^post_storage_client_ms_count\{op="putObject",outcome="ok"\} (\d+)/m)).toBeGreaterThan(0);
    expect(count(/^post_storage_replica_ms_count\{kind="storage\.object\.put"\} (\d+)/m)).toBeGreaterThan(0);
    // Each local write, until committed and on disk (where a replicated write waits).
    expect(count(/^post_store_write_ms_count (\d+)/m)).toBeGreaterThan(0);
    // The process's memory, to watch a node grow (or not) over its use: a node process holds tens of MB.
    const mb = (name: string) => count(new RegExp(`^${name} (\\d+)$`, 'm')) / 2 ** 20;
    for (const name of ['post_process_resident_bytes', 'post_process_heap_used_bytes']) expect(mb(name), name).toBeGreaterThan(10);
    expect(mb('post_process_resident_bytes')).toBeGreaterThan(mb('post_process_heap_used_bytes'));
    expect(text).toMatch(/^post_process_external_bytes \d+$/m);
    // Its CPU time (every thread) beside its event loop's active time: where a busy node spends its time.
    const seconds = (name: string) => Number(new RegExp(`^${name} ([\\d.e+-]+)$`, 'm').exec(text)?.[1]);
    for (const name of ['post_process_cpu_user_seconds_total', 'post_process_cpu_system_seconds_total', 'post_event_loop_active_seconds_total', 'post_event_loop_idle_seconds_total']) {
      expect(seconds(name), name).toBeGreaterThan(0);
    }
    const sender = nodeOf(user('user1@lab.example').node);
    const senderText = await (await fetch(`http://127.0.0.1:${sender.http.port}/metrics`)).text();
    expect(senderText).toMatch(/^post_smtp_command_ms_count\{command="DATA",code="250"\} [1-9]\d*$/m);
    expect(senderText).toMatch(/^post_smtp_command_ms_count\{command="AUTH",code="235"\} [1-9]\d*$/m);
  }, 30_000);

  test('each accepted message is logged once, with its session, sender, reference and size', () => {
    const events = (n: any) => readFileSync(n.log, 'utf8').split('\n').filter((l: string) => l.startsWith('{')).map((l: string) => JSON.parse(l));
    const sender = nodeOf(user('user1@lab.example').node);
    const submitted = events(sender).filter((e: any) => e.event === 'smtp.submitted');
    // Earlier tests sent several messages from user1 over its node's SMTP.
    expect(submitted.filter((e: any) => e.from === 'user1@lab.example').length).toBeGreaterThan(1);
    for (const e of submitted) expect(Object.keys(e)).toEqual(expect.arrayContaining(['session', 'messageRef', 'from', 'recipients', 'bytes']));
    // No second line per message from the submission behind it.
    expect(lab.nodes.flatMap((n: any) => events(n).filter((e: any) => e.event === 'mail.submitted'))).toEqual([]);
  });

  test('nothing the nodes did for these clients was refused by NATS (their keys allow the whole mail path)', () => {
    const refused = lab.nodes.flatMap((n: any) => readFileSync(n.log, 'utf8').split('\n').filter((l: string) => /Permissions Violation/.test(l)));
    expect(refused).toEqual([]);
  });
});
