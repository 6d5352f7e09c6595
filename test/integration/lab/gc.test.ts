// Issue 15: garbage collection can be watched. A lab started with a short lease and frequent GC passes
// (`post lab up --gc-lease --gc-interval`) runs the gc-expunged scenario: a user stores mails with
// content of their own and expunges half; after the lease the expunged content is gone from every
// node, the kept mails read back whole, and the workload's mail (in every INBOX, read after the lease)
// is all there: what is still referenced is refreshed, what is not is collected.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { post, labDown } from './cli';

const dir = mkdtempSync(join(tmpdir(), 'post-lab-gc-'));
const LEASE_S = 20;
const GC_INTERVAL_S = 2;
let labFile = '';

describe('lab: GC with a short lease', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '4', '--users', '2', '--gc-lease', String(LEASE_S), '--gc-interval', String(GC_INTERVAL_S), '--no-dashboard', '--dir', join(dir, 'lab')], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 300_000);

  afterAll(async () => {
    await labDown(join(dir, 'lab'), { timeoutMs: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  test('gc-expunged: expunged content is collected after its lease; the kept mails and every INBOX survive it', async () => {
    const r = await post(['scenario', 'run', 'gc-expunged', '--lab', labFile, '--json'], { timeoutMs: 540_000 });
    const verdict = JSON.parse(r.stdout);
    const checks = Object.fromEntries(verdict.checks.map((c: any) => [c.name, c]));
    for (const c of verdict.checks) console.log(`gc-expunged: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail ?? ''}`);
    expect(checks['expunged content is collected after its lease']?.ok).toBe(true);
    expect(checks['everything still referenced is kept']?.ok).toBe(true);
    expect(verdict.ok, r.stderr.slice(-2000)).toBe(true);
    expect(r.code).toBe(0);
  }, 600_000);

  test('without a short lease the scenario says how to start the lab', async () => {
    const other = join(dir, 'plain.json');
    const lab = JSON.parse(readFileSync(labFile, 'utf8'));
    writeFileSync(other, JSON.stringify({ ...lab, nodes: lab.nodes.map(({ gc: _, ...n }: any) => n) }));
    const r = await post(['scenario', 'run', 'gc-expunged', '--lab', other], { timeoutMs: 120_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--gc-lease');
  }, 150_000);
});
