// Issue 4, integration on the real lab: user A on node 1 sends B on node 4 a message (`post message
// send`); `post message list` shows it for B; B's node is killed, messages are sent meanwhile, the
// node is restarted, and every message is there exactly once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { post, postJson, labDown } from './cli';

const dir = mkdtempSync(join(tmpdir(), 'post-lab-messages-'));
let labFile = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));

describe('lab: users and short messages', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '5', '--dir', dir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    // A on node 1, B on node 4, created with `post user add` as an operator would.
    const ca = lab().orgs[0].ca;
    for (const [address, node] of [['alice@lab.example', 0], ['bob@lab.example', 3]] as const) {
      const pw = join(dir, `${address}.pw`);
      writeFileSync(pw, `pw-${address}\n`);
      const add = await post(['user', 'add', address, '--ca', ca, '--password-file', pw, '--lab', labFile, '--node', lab().nodes[node].id]);
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
    }
  }, 200_000);

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const list = async (user: string) => (await postJson(['message', 'list', '--lab', labFile, '--user', user])).filter((m: any) => m.direction === 'in');

  test('a message from A on node 1 is listed for B on node 4', async () => {
    const sent = await postJson(['message', 'send', '--lab', labFile, '--from', 'alice@lab.example', '--to', 'bob@lab.example', 'hello bob']);
    expect(sent.notified).toEqual(['bob@lab.example']);
    let got: any[] = [];
    for (let i = 0; i < 20 && got.length === 0; i++) {
      got = await list('bob@lab.example');
      if (!got.length) await sleep(250);
    }
    expect(got.map((m) => [m.from, m.text])).toEqual([['alice@lab.example', 'hello bob']]);
  }, 60_000);

  test('messages sent while B\'s node is down arrive exactly once after it restarts', async () => {
    const bobNode = lab().nodes[3];
    process.kill(bobNode.pid, 'SIGKILL');
    for (let i = 0; i < 100 && isAlive(bobNode.pid); i++) await sleep(50);
    const texts = ['while down 1', 'while down 2', 'while down 3', 'while down 4'];
    for (const t of texts) {
      const sent = await postJson(['message', 'send', '--lab', labFile, '--from', 'alice@lab.example', '--to', 'bob@lab.example', t]);
      expect(sent.notified).toEqual(['bob@lab.example']);
    }
    const r = await post(['lab', 'restart', '--node', bobNode.id, '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    let got: string[] = [];
    for (let i = 0; i < 60; i++) {
      const l = await postJson(['message', 'list', '--lab', labFile, '--user', 'bob@lab.example']).catch(() => undefined);
      got = l ? l.filter((m: any) => m.direction === 'in').map((m: any) => m.text) : [];
      if (got.length >= 5) break;
      await sleep(500);
    }
    expect(got.sort()).toEqual(['hello bob', ...texts].sort());
    // Still exactly once a little later (no late duplicates from replicas that missed a receipt).
    await sleep(3000);
    expect((await list('bob@lab.example')).length).toBe(5);
  }, 180_000);

  test('clear errors: unknown recipient, unknown sender, wrong password file', async () => {
    const unknown = await post(['message', 'send', '--lab', labFile, '--from', 'alice@lab.example', '--to', 'nobody@lab.example', 'x']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nobody@lab\.example.*UNKNOWN_USER/);
    const stranger = await post(['message', 'send', '--lab', labFile, '--from', 'mallory@lab.example', '--to', 'bob@lab.example', 'x']);
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toMatch(/not a user of this lab/);
    const dup = await post(['user', 'add', 'alice@lab.example', '--ca', lab().orgs[0].ca, '--password-file', join(dir, 'alice@lab.example.pw'), '--lab', labFile]);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/USER_EXISTS/);
  }, 60_000);
});
