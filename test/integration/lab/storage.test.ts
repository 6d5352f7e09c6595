// Issue 3, integration over the real lab: put a 20 MiB file, SIGKILL two of its replica holders, get
// it back byte-identical, and see `post block where` report 3 replicas again. Through the `post`
// command, as an operator would.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { POST, post, postJson, labDown } from './cli';
import { execFile } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'post-lab-storage-'));
let labFile = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));

/** `post block get REF` into a buffer (stdout is binary). */
function blockGet(ref: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(POST, ['block', 'get', ref, '--lab', labFile], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout),
    );
  });
}

describe('lab: replicated storage', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '6', '--dir', dir], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 150_000);

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test('a 20 MiB file survives SIGKILL of two of its replica holders and returns to 3 replicas', async () => {
    // What the lab holds before the file (its postmasters' keys and mailboxes), k copies each.
    const held = async () => (await postJson(['ring', 'status', '--lab', labFile])).nodes.filter((n: any) => n.state === 'ready').reduce((sum: number, n: any) => sum + n.objects, 0);
    const before = await held();
    const data = randomBytes(20 * 1024 * 1024);
    const file = join(dir, 'file20');
    writeFileSync(file, data);
    const put = await postJson(['block', 'put', file, '--lab', labFile], { timeoutMs: 120_000 });
    expect(put.ref).toMatch(/^post1:manifest:[0-9a-f]{64}:[0-9a-f]{64}:20971520$/);
    expect(put.replicas).toHaveLength(3);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sha(await blockGet(put.ref))).toBe(sha(data));

    const victims = lab().nodes.filter((n: any) => put.replicas.slice(0, 2).includes(n.id));
    for (const v of victims) process.kill(v.pid, 'SIGKILL');
    for (let i = 0; i < 100 && victims.some((v: any) => isAlive(v.pid)); i++) await sleep(50);

    // Readable at once, from the one copy left and the other chunks' replicas.
    expect(sha(await blockGet(put.ref))).toBe(sha(data));

    let where = await postJson(['block', 'where', put.id, '--lab', labFile]);
    for (let i = 0; i < 60 && where.replicas.length < 3; i++) {
      await sleep(1000);
      where = await postJson(['block', 'where', put.id, '--lab', labFile]);
    }
    expect(where.replicas).toHaveLength(3);
    for (const v of victims) expect(where.replicas).not.toContain(v.id);

    // Every block (20 chunks + the manifest) is back to 3 copies on the surviving nodes, and so is
    // everything the lab held before.
    let total = 0;
    for (let i = 0; i < 60; i++) {
      total = await held();
      if (total === before + 21 * 3) break;
      await sleep(1000);
    }
    expect(total).toBe(before + 21 * 3);
    expect(sha(await blockGet(put.ref))).toBe(sha(data));
  }, 300_000);

  test('bad references and ids get clear errors', async () => {
    const bad = await post(['block', 'get', 'post1:chunk:nothex', '--lab', labFile]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/BAD_REFERENCE/);
    const missing = await post(['block', 'get', `post1:chunk:${'ab'.repeat(32)}:${'cd'.repeat(32)}:10`, '--lab', labFile]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/BLOCK_MISSING/);
    const where = await post(['block', 'where', 'xyz', '--lab', labFile]);
    expect(where.code).toBe(2 - 1);
    expect(where.stderr).toMatch(/64 hex digits/);
  }, 120_000);
});
