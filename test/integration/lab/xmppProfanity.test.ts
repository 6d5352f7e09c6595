// Issue 17 on the real lab, as a person would chat: Debian's `profanity` (a terminal XMPP client on
// libstrophe) runs in a detached tmux session, driven with `tmux send-keys` and read with
// `tmux capture-pane`. It logs in as user1 on user1's node with user1's POST password (plaintext on
// loopback: the lab has no TLS certificate, so TLS is disabled in the client), sends a message to
// user2, who is on the other node in a raw client (bench/im/client.ts), and shows user2's answer on
// its screen. The captured screen is printed.
//
// libstrophe leaves PLAIN out as soon as a SCRAM mechanism is offered, so this is also the test that
// SCRAM works on a user's home node at its first login (the node derives SCRAM keys from the
// password it unlocked the user with: actors/users/logins.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BenchXmppClient, type ReceivedMessage } from '../../../bench/im/client';
import { labTrouble, post, labDown } from './cli';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const hasProfanity = has('profanity');
const hasTmux = has('tmux');
const missing = !hasProfanity ? 'profanity is not installed (apt-get install profanity)' : !hasTmux ? 'tmux is not installed' : '';
if (missing) console.warn(`skipped: ${missing}`);

/** How long one step of the conversation may take on a loaded machine, and how often the screen is read meanwhile. */
const STEP_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

interface Lab {
  nodes: { id: string; pid: number; log: string; xmpp?: { host: string; port: number } }[];
  users: { address: string; password: string; node: string }[];
}

let dir = '';
let home = '';
let labFile = '';
const socketName = `post-profanity-${process.pid}`;
const lab = (): Lab => JSON.parse(readFileSync(labFile, 'utf8'));
const account = (n: number) => {
  const u = lab().users.find((x) => x.address === `user${n}@lab.example`)!;
  return { jid: u.address, password: u.password, endpoint: lab().nodes.find((x) => x.id === u.node)!.xmpp! };
};

/** tmux on this test's own server socket (never the user's or another test's). */
function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', socketName, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}
const screen = () => tmux('capture-pane', '-p', '-t', 'chat');
/** Types `text` literally, then Enter. */
const type = (text: string) => {
  tmux('send-keys', '-t', 'chat', '-l', '--', text); // '--': a text (a random password) may start with '-'
  tmux('send-keys', '-t', 'chat', 'Enter');
};

/** Polls until `check` holds, at most STEP_TIMEOUT_MS; fails at once when the screen shows `failed`, and with the screen as it was. */
async function until(what: string, check: () => boolean, failed?: RegExp): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (let i = 0; Date.now() < deadline && i < STEP_TIMEOUT_MS / POLL_MS; i++) {
    if (check()) return;
    if (failed?.test(screen())) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (check()) return;
  throw new Error(`${what}: failed or not within ${STEP_TIMEOUT_MS} ms. Screen:\n${screen()}\n${labFile ? labTrouble(lab()) : ''}`);
}

describe.skipIf(!!missing)('lab: profanity in tmux sends and receives a chat message', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'post-lab-profanity-'));
    home = mkdtempSync(join(tmpdir(), 'post-profanity-home-'));
    const r = await post(['lab', 'up', '--nodes', '2', '--users', '2', '--dir', dir], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 200_000);

  afterAll(async () => {
    spawnSync('tmux', ['-L', socketName, 'kill-server'], { stdio: 'ignore' });
    if (home) rmSync(home, { recursive: true, force: true });
    if (!dir) return;
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('user1 in profanity on its node chats with user2 in a raw client on the other node', async () => {
    const a = account(1);
    const b = account(2);
    expect(a.endpoint.port).not.toBe(b.endpoint.port);
    const peer = await BenchXmppClient.login(b.endpoint, { jid: b.jid, password: b.password }, { resource: 'raw', timeoutMs: STEP_TIMEOUT_MS });
    const received: ReceivedMessage[] = [];
    peer.onMessage = (m) => received.push(m);
    try {
      // A fresh profile in its own HOME: no accounts, no history, nothing of the machine's user.
      const env = `env HOME=${home} XDG_CONFIG_HOME=${home}/config XDG_DATA_HOME=${home}/data TERM=xterm-256color`;
      tmux('new-session', '-d', '-s', 'chat', '-x', '200', '-y', '50', `${env} profanity`);
      await until('profanity started', () => screen().includes('/help'));
      type(`/connect ${a.jid} server ${a.endpoint.host} port ${a.endpoint.port} tls disable`);
      await until('password prompt', () => /password/i.test(screen()));
      type(a.password);
      await until('logged in', () => /logged in successfully/i.test(screen()), /Login failed/);

      type(`/msg ${b.jid} hello user2, from profanity`);
      await until('user2 got the message', () => received.length > 0 || !!peer.error);
      expect(peer.error).toBeUndefined();
      expect(received.map((m) => ({ from: m.from.split('/')[0], body: m.body }))).toEqual([{ from: a.jid, body: 'hello user2, from profanity' }]);

      peer.send(a.jid, 'hello user1, from the raw client on the other node');
      await until('the answer on profanity\'s screen', () => screen().includes('hello user1, from the raw client on the other node'));
      const captured = screen().trimEnd();
      console.log(`profanity's screen (tmux capture-pane):\n${captured}`);
      expect(captured).toContain('hello user2, from profanity');
      expect(captured).toMatch(/user2@lab\.example.*hello user1, from the raw client on the other node/);
      type('/quit');
    } finally {
      await peer.close();
    }
  }, 240_000);
});
