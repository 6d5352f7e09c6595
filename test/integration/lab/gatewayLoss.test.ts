// Issue 13: `gateway-loss` on the real lab. A two-organisation lab (eight node processes, the first two
// of each organisation its gateways, mail over SMTP and IMAP): a.example's two gateways hang, are
// SIGKILLed and started again (`post node start` on their data) one after the other while eight senders
// mail across the organisations both ways; the checkers pass, and the restarted gateways are back in
// the global ring. A one-organisation lab is told how to start one that can run it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { SCENARIO_LOAD } from '../../../protocol/limits';
import { labEvents, labDown, post, postJson } from './cli';

type LabVerdict = {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string }[];
  stats: { mails: number; ok: number; faults: number; baselinePerSecond: number; workloadPerSecond: number };
  history: { kind: string; what?: string; from?: string; to?: string; outcome?: string; error?: string }[];
};

function verdictOf(r: { code: number; stdout: string; stderr: string }): LabVerdict {
  try {
    return JSON.parse(r.stdout) as LabVerdict;
  } catch {
    throw new Error(`no verdict on stdout (exit ${r.code}); stderr ends:\n${r.stderr.slice(-4000)}`);
  }
}

describe('gateway-loss on a two-organisation lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'post-lab-gateway-loss-'));
  let labFile = '';
  const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));

  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', '8', '--orgs', 'a.example,b.example', '--users', '3', '--dir', dir, '--no-dashboard', '--submission-rate', '100000/10000'], { timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 260_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && labFile) console.error(`lab after "${ctx.task.name}" failed:\n${labEvents(lab())}`);
  });

  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("a.example's gateways hang, die and restart in turn while mail crosses both ways; nothing lost or doubled, k replicas, the gateways back in the global ring", async () => {
    const pids = new Map<string, number>(lab().nodes.map((n: { id: string; pid: number }) => [n.id, n.pid]));
    const gateways = lab().nodes.filter((n: { org: string; gateway?: boolean }) => n.org === 'a.example' && n.gateway).map((n: { id: string }) => n.id);
    expect(gateways).toHaveLength(2);
    const r = await post(['scenario', 'run', 'gateway-loss', '--lab', labFile, '--json'], { timeoutMs: 480_000 });
    const v = verdictOf(r);
    expect(v.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`), r.stderr.slice(-3000)).toEqual([]);
    expect(r.code).toBe(0);
    expect(v.stats.mails).toBeGreaterThanOrEqual(SCENARIO_LOAD.calibrationMails + SCENARIO_LOAD.mailsMin);
    expect(v.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['no acknowledged mail lost', 'every notification lands in INBOX exactly once', 'cross-organisation mail flowed both ways while each gateway was down']));
    // Each gateway in turn: hung, killed, restarted; the first back before the second goes.
    const faults = v.history.filter((o) => o.kind === 'fault' || o.kind === 'heal').map((o) => o.what!);
    expect(faults.map((f) => f.split(' ')[0])).toEqual(['hang', 'kill', 'restart', 'hang', 'kill', 'restart']);
    expect(faults[1]).toContain(gateways[0]!.slice(0, 12));
    expect(faults[4]).toContain(gateways[1]!.slice(0, 12));
    // A sender whose home was the dead gateway found no server to talk to: nothing was sent (failed,
    // so the checkers hold that it must not arrive), not a mail that may have landed (unknown).
    const refused = v.history.filter((o) => o.kind === 'mail' && /ECONNREFUSED/.test(o.error ?? ''));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((o) => o.outcome !== 'failed')).toEqual([]);
    // Mail crossed both ways.
    const org = (a?: string) => a?.split('@')[1];
    const directions = new Set(v.history.filter((o) => o.kind === 'mail' && o.outcome === 'ok').map((o) => `${org(o.from)}->${org(o.to)}`));
    expect([...directions]).toEqual(expect.arrayContaining(['a.example->b.example', 'b.example->a.example']));
    // The gateways are new processes, back in both rings; every other node kept running.
    for (const n of lab().nodes) {
      expect(isAlive(n.pid)).toBe(true);
      if (!gateways.includes(n.id)) expect(n.pid).toBe(pids.get(n.id));
      else expect(n.pid).not.toBe(pids.get(n.id));
    }
    const status = (await postJson(['ring', 'status', '--lab', labFile])).nodes as { id: string; state: string; global?: { state: string } }[];
    for (const id of gateways) expect(status.find((n) => n.id === id)).toMatchObject({ state: 'ready', global: { state: 'ready' } });
  }, 500_000);
});
