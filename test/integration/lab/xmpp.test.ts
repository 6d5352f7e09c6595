// Issue 17 on the real lab: a real XMPP client (Python's slixmpp, Debian's python3-slixmpp; and
// sendxmpp, Perl's Net::XMPP, for one message) logs in
// to lab.json's `xmpp` port of each user's home node with the user's POST password. Two users on two
// nodes chat both ways; messages sent while the recipient is offline arrive, marked delayed, at its
// next login; two resources of one user get carbons; the archive (MAM) pages through the
// conversation; and the same conversation is what `post message list` shows (one store); presence
// subscriptions settle across nodes and each side sees the other come and go; receipts and chat
// states cross nodes; a user logged in on a node that does not host it chats too; and users of two
// organisations chat through the gateways; a client whose connection drops resumes its session
// (XEP-0198) and gets what was sent meanwhile once. Around it,
// raw TCP: malformed XML and an oversized stanza get stream errors and the node lives on.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { labTrouble, post, postJson, labDown } from './cli';

const run = promisify(execFile);
const CLIENT = fileURLToPath(new URL('../clients/xmpp_client.py', import.meta.url));
/** Debian's python3 (where python3-slixmpp is), not a pyenv or virtualenv python3 earlier on the PATH. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasSlixmpp = spawnSync(PYTHON, ['-c', 'import slixmpp'], { stdio: 'ignore' }).status === 0;
const hasSendxmpp = spawnSync('sh', ['-c', 'command -v sendxmpp'], { stdio: 'ignore' }).status === 0;

let dir = '';
let labFile = '';
interface Lab {
  nodes: { id: string; pid: number; log: string; xmpp?: { host: string; port: number }; http?: { host: string; port: number } }[];
  users: { address: string; password: string; node: string }[];
}
const lab = (): Lab => JSON.parse(readFileSync(labFile, 'utf8'));
const account = (n: number) => {
  const u = lab().users.find((x) => x.address === `user${n}@lab.example`)!;
  const { host, port } = lab().nodes.find((x) => x.id === u.node)!.xmpp!;
  return { jid: u.address, password: u.password, host, port };
};

async function client(scenario: string, config: object): Promise<any> {
  try {
    const r = await run(PYTHON, [CLIENT, scenario, JSON.stringify(config)], { timeout: 120_000 });
    return JSON.parse(r.stdout);
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    throw new Error(`xmpp client (${scenario}) failed: ${x.stdout ?? ''}\n${x.stderr ?? ''}\n${labTrouble(lab())}`);
  }
}

/** Raw bytes to a node's XMPP port; resolves with everything it answered once it closed the connection. */
function rawSession(endpoint: { host: string; port: number }, chunks: (string | Buffer)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(endpoint.port, endpoint.host);
    let answer = '';
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no close; got: ${answer}`)));
    socket.on('data', (d) => (answer += d.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

const HEADER = "<?xml version='1.0'?><stream:stream to='lab.example' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

describe.skipIf(!hasSlixmpp)('lab: XMPP with a real client (python3-slixmpp)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-lab-xmpp-'));
    const r = await post(['lab', 'up', '--nodes', '2', '--users', '2', '--dir', dir], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 200_000);

  afterAll(async () => {
    if (!dir) return;
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('lab.json gives every node its XMPP port, and the two users live on different nodes', () => {
    for (const node of lab().nodes) expect(node.xmpp).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
    expect(account(1).port).not.toBe(account(2).port);
  });

  test('two users on two nodes exchange messages both ways, delivered at once', async () => {
    const r = await client('converse', { a: account(1), b: account(2) });
    expect(r.b_received).toEqual([{ from: 'user1@lab.example', body: 'hello b, from a', delayed: false }]);
    expect(r.a_received).toEqual([{ from: 'user2@lab.example', body: 'hello a, from b', delayed: false }]);
  }, 150_000);

  test('messages sent while the recipient is offline arrive, in order and delayed, at its next login, and only once', async () => {
    const texts = ['while you were out 1', 'while you were out 2'];
    await client('send', { a: account(1), b: account(2), texts });
    const r = await client('receive', { a: account(1), b: account(2), expect: 2 });
    expect(r.b_received).toEqual(texts.map((body) => ({ from: 'user1@lab.example', body, delayed: true })));
    // The next login has nothing waiting: a fresh message is the first (and only) one it gets.
    await client('send', { a: account(1), b: account(2), texts: ['later'] });
    const again = await client('receive', { a: account(1), b: account(2), expect: 1 });
    expect(again.b_received.map((m: { body: string }) => m.body)).toEqual(['later']);
  }, 150_000);

  test('carbons: what one resource sends is copied to the other; what arrives reaches both', async () => {
    const r = await client('carbons', { a: account(1), b: account(2) });
    expect(r.two_carbons_sent).toEqual(['sent from one']);
    expect(r.one_received.map((m: { body: string }) => m.body)).toEqual(['to both resources']);
    expect(r.two_received.map((m: { body: string }) => m.body)).toEqual(['to both resources']);
  }, 150_000);

  test('MAM pages through the conversation, and `post message list` shows the same store', async () => {
    const r = await client('mam', { a: account(1), b: account(2), page: 2 });
    const all = (r.pages as string[][]).flat();
    expect(all).toEqual(['hello b, from a', 'hello a, from b', 'while you were out 1', 'while you were out 2', 'later', 'sent from one', 'to both resources']);
    expect(r.pages.slice(0, -1).every((p: string[]) => p.length === 2)).toBe(true);
    const listed = await postJson<{ text: string; direction: string }[]>(['message', 'list', '--lab', labFile, '--user', 'user1@lab.example']);
    expect(listed.map((m) => m.text)).toEqual(all);
  }, 150_000);

  test('`post message send` reaches an XMPP client of the recipient as an offline message', async () => {
    const sent = await post(['message', 'send', '--lab', labFile, '--from', 'user1@lab.example', '--to', 'user2@lab.example', 'from the post command']);
    expect(sent.code, sent.stderr).toBe(0);
    const r = await client('receive', { a: account(1), b: account(2), expect: 1 });
    expect(r.b_received).toEqual([{ from: 'user1@lab.example', body: 'from the post command', delayed: true }]);
  }, 150_000);

  test.skipIf(!hasSendxmpp)('sendxmpp (Perl Net::XMPP) sends a message that the recipient gets at its next login', async () => {
    const a = account(1);
    const sent = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = execFile('sendxmpp', ['-u', 'user1', '-p', a.password, '-j', `${a.host}:${a.port}`, '-o', 'lab.example', 'user2@lab.example'], { timeout: 60_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      );
      child.stdin!.end('sent with sendxmpp\n');
    });
    expect(sent.code, sent.out).toBe(0);
    const r = await client('receive', { a: account(1), b: account(2), expect: 1 });
    expect(r.b_received.map((m: { body: string }) => m.body.trim())).toEqual(['sent with sendxmpp']);
  }, 150_000);

  test('a headline to an offline user is dropped, not kept for its next login (RFC 6121 8.5.2.2.1); a chat sent after it is', async () => {
    await client('send', { a: account(1), b: account(2), texts: ['a headline nobody was there for'], type: 'headline' });
    await client('send', { a: account(1), b: account(2), texts: ['a chat after the headline'] });
    const r = await client('receive', { a: account(1), b: account(2), expect: 1 });
    expect(r.b_received).toEqual([{ from: 'user1@lab.example', body: 'a chat after the headline', delayed: true }]);
  }, 150_000);

  test('delivery receipts and chat states cross nodes: a gets b\'s receipt for its message id; b sees a composing', async () => {
    const r = await client('receipts', { a: account(1), b: account(2) });
    expect(r.a_receipts).toEqual(['receipt-test-1']);
    expect(r.b_chat_states).toEqual(['composing']);
  }, 150_000);

  test('presence subscriptions across nodes: a asks, b approves and asks back, both see each other come and go', async () => {
    const r = await client('presence', { a: account(1), b: account(2) });
    expect(r.a_sees_b).toEqual({ subscription: 'both', online: true });
    expect(r.b_sees_a).toEqual({ subscription: 'both', online: true });
    expect(r.a_saw_b_leave).toBe(true);
  }, 150_000);

  test('a user logged in on a node that does not host it (a visitor there) chats live too', async () => {
    const b = account(2);
    const elsewhere = lab().nodes.find((n) => n.xmpp!.port !== b.port)!.xmpp!;
    const r = await client('converse', { a: account(1), b: { ...b, ...elsewhere } });
    expect(r.b_received).toEqual([{ from: 'user1@lab.example', body: 'hello b, from a', delayed: false }]);
    expect(r.a_received).toEqual([{ from: 'user2@lab.example', body: 'hello a, from b', delayed: false }]);
  }, 150_000);

  test('malformed XML and an oversized stanza get stream errors; a wrong password is refused; the node lives on', async () => {
    const endpoint = account(1);
    const malformed = await rawSession(endpoint, [HEADER, '<message><body>x</message>']);
    expect(malformed).toContain('<not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>');
    expect(malformed).toMatch(/<\/stream:stream>$/);
    const huge = await rawSession(endpoint, [HEADER, `<message><body>${'x'.repeat(400 * 1024)}</body></message>`]);
    expect(huge).toContain('<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>');
    const wrongNs = await rawSession(endpoint, ["<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"]);
    expect(wrongNs).toContain('<invalid-namespace');
    const auth = Buffer.from(`\0user1\0not-the-password`).toString('base64');
    const refused = await rawSession(endpoint, [HEADER, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth></stream:stream>`]);
    expect(refused).toContain('<not-authorized/>');
    for (const node of lab().nodes) expect(isAlive(node.pid), labTrouble(lab())).toBe(true);
    // And it still serves: a real client logs in and chats.
    const r = await client('converse', { a: account(1), b: account(2) });
    expect(r.ok).toBe(true);
  }, 150_000);

  test('stream resumption (XEP-0198): a client whose connection drops resumes on its node and gets what was sent meanwhile, once', async () => {
    const a = account(1);
    const http = lab().nodes.find((n) => n.xmpp!.port === a.port)!.http!;
    const r = await client('resume', { a, b: account(2), metrics: `http://${http.host}:${http.port}/metrics` });
    expect(r.events).toEqual({ session_start: 0, session_resumed: 1 });
    expect(r.a_received).toEqual([
      { from: 'user2@lab.example', body: 'sent while a was away', delayed: false },
      { from: 'user2@lab.example', body: 'sent after a resumed', delayed: false },
    ]);
  }, 150_000);
});

describe.skipIf(!hasSlixmpp)('lab: XMPP between two organisations', () => {
  let orgsDir = '';
  let orgsLab = '';
  const orgsAccount = (address: string) => {
    const l = JSON.parse(readFileSync(orgsLab, 'utf8')) as Lab;
    const u = l.users.find((x) => x.address === address)!;
    const { host, port } = l.nodes.find((x) => x.id === u.node)!.xmpp!;
    return { jid: u.address, password: u.password, host, port };
  };

  beforeAll(async () => {
    orgsDir = mkdtempSync(join(tmpdir(), 'post-lab-xmpp-orgs-'));
    const r = await post(['lab', 'up', '--nodes', '6', '--orgs', 'a.example,b.example', '--users', '1', '--dir', orgsDir], { timeoutMs: 200_000 });
    expect(r.code, r.stderr).toBe(0);
    orgsLab = r.stdout.trim();
  }, 240_000);

  afterAll(async () => {
    if (!orgsDir) return;
    await labDown(orgsDir);
    rmSync(orgsDir, { recursive: true, force: true });
  }, 60_000);

  test('user1@a.example and user1@b.example chat both ways through the gateways', async () => {
    let r;
    try {
      r = await run(PYTHON, [CLIENT, 'converse', JSON.stringify({ a: orgsAccount('user1@a.example'), b: orgsAccount('user1@b.example') })], { timeout: 120_000 });
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      throw new Error(`xmpp client failed: ${x.stdout ?? ''}\n${x.stderr ?? ''}\n${labTrouble(JSON.parse(readFileSync(orgsLab, 'utf8')))}`);
    }
    const result = JSON.parse(r.stdout);
    expect(result.b_received).toEqual([{ from: 'user1@a.example', body: 'hello b, from a', delayed: false }]);
    expect(result.a_received).toEqual([{ from: 'user1@b.example', body: 'hello a, from b', delayed: false }]);
  }, 150_000);
});
