// `post bench mail` at a tiny size, every phase, against POST (a real five-node lab) and, where it
// can be started (root, Debian packages), the reference Postfix + Dovecot: each phase produces
// figures on each target, the comparison has rows for each, and the mixed workload's consistency
// checker reports 0 errors. Times are not asserted.
import { describe, expect, it } from 'vitest';
import { mailBenchUsers, mailPhaseNames, planMailBench, runMailBench, runMailPhases, type PhaseOutcome } from '../../../bench/mail';
import { postMailTarget } from '../../../bench/mailPost';
import { ensureReferencePackages, referenceUnavailable } from '../../../bench/reference/packages';
import '../../../bench/index'; // registers the POST target

async function whyReferenceUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'Postfix and Dovecot need root to start';
  return referenceUnavailable(() => ensureReferencePackages());
}

const skipReference = await whyReferenceUnavailable();
const TEST_TIMEOUT_MS = 15 * 60_000;

function expectFigures(outcomes: Record<string, PhaseOutcome>, lines: string[]): void {
  for (const name of mailPhaseNames) expect(outcomes[name], `${name}:\n${lines.slice(-30).join('\n')}`).toMatchObject({ ok: true });
  const result = (name: string) => (outcomes[name] as { ok: true; result: any }).result;
  const mixed = result('mixed');
  expect(mixed.errors, mixed.errorExamples.join('\n')).toBe(0);
  expect(mixed.commands).toBeGreaterThan(0);
  expect(Object.keys(result('latency').commands)).toContain('SELECT Big');
  expect(Object.keys(result('smtp').cells)).toHaveLength(4);
  expect(result('growth').folder.levels.length).toBeGreaterThan(0);
  const store = result('store');
  expect(store.runs.map((r: { clients: number }) => r.clients)).toEqual([1, 2]);
  for (const run of store.runs) expect(run.errors, run.errorExamples.join('\n')).toBe(0);
  for (const run of store.runs) expect(run.stores).toBeGreaterThan(0);
}

/** A floor run made writes of `valueBytes` and measured every part. */
function expectFloorRun(f: any, valueBytes: number): void {
  expect(f.valueBytes).toBe(valueBytes);
  expect(f.writes).toBeGreaterThan(0);
  expect(Object.keys(f.partsMsPerWrite)).toEqual(['host', 'replicas', 'NATS servers']);
  expect(f.partsMsPerWrite.replicas).toBeGreaterThan(0);
}

/**
 * POST's replicated-write floor ran beside its STORE (a head's size, at each client count, a put to
 * each replica) and after its SMTP cells (each message size, as many clients as sessions, a put to each
 * replica and then published once to both), every part measured.
 */
function expectWriteFloor(outcomes: Record<string, PhaseOutcome>, lines: string[]): void {
  const floor = (outcomes.store as { ok: true; result: any }).result.floor;
  expect(floor.map((f: { clients: number }) => f.clients)).toEqual([1, 2]);
  for (const f of floor) expectFloorRun(f, 1024);
  expect(floor.map((f: { fanOut: boolean }) => f.fanOut)).toEqual([false, false]);
  const smtp = (outcomes.smtp as { ok: true; result: any }).result;
  for (const [floors, fanOut] of [[smtp.floor, false], [smtp.fanOutFloor, true]] as const) {
    expect(Object.keys(floors)).toEqual(['4 KiB', '100 KiB']);
    expectFloorRun(floors['4 KiB'], 4096);
    expectFloorRun(floors['100 KiB'], 100 * 1024);
    for (const f of Object.values(floors) as { clients: number; fanOut: boolean }[]) expect([f.clients, f.fanOut]).toEqual([smtp.sessions, fanOut]);
  }
  expect(lines.filter((line) => line.includes('a write, published once to both replicas: '))).toHaveLength(2);
  for (const cell of Object.keys(smtp.cells)) expect(lines.filter((line) => line.includes(`SMTP ${cell}: accepted at `) && line.includes('x published once)')), cell).toHaveLength(1);
}

/** POST's server CPU by part: the hosting node, the other nodes (replicas), the NATS servers; together the whole. */
function expectCpuParts(outcomes: Record<string, PhaseOutcome>): void {
  const cpu = (outcomes.mixed as { ok: true; result: any }).result.cpu;
  expect(Object.keys(cpu.serverParts)).toEqual(['hosting node', 'nodes 2-5', 'NATS servers']);
  const sum = Object.values(cpu.serverParts as Record<string, number>).reduce((a, b) => a + b, 0);
  expect(Math.abs(sum - cpu.serverPercent)).toBeLessThanOrEqual(3); // each part rounded on its own
}

/** POST hosts users on a spare node: per-user memory and latency at 1 and 2 users; and a session on another node delivers with the home killed. */
function expectUserGrowth(outcomes: Record<string, PhaseOutcome>): void {
  const growth = outcomes.growth as { ok: true; result: any };
  expect(growth.result.users.levels.map((l: { users: number }) => l.users)).toEqual([1, 2]);
  const away = (outcomes.away as { ok: true; result: any }).result;
  expect(away.skipped).toBeUndefined();
  expect(away.homeDownMs.n).toBe(away.homeUpMs.n);
  expect(away.afterLoginMs).toBeGreaterThan(0);
}

describe('post bench mail, tiny', () => {
  it.skipIf(skipReference === undefined)(`mail bench: every phase produces figures on POST (the reference is skipped: ${skipReference})`, async () => {
    const lines: string[] = [];
    const plan = planMailBench({ size: 'tiny' });
    const post = await postMailTarget(mailBenchUsers(plan));
    try {
      const outcomes = await runMailPhases(post.target, plan, (line) => lines.push(line));
      expectFigures(outcomes, lines);
      expectCpuParts(outcomes);
      expectWriteFloor(outcomes, lines);
      expectUserGrowth(outcomes);
    } finally {
      await post.stop();
    }
  }, TEST_TIMEOUT_MS);

  it.skipIf(skipReference !== undefined)('mail bench: every phase produces figures on POST and the reference, with a comparison for each, and 0 consistency errors, the load phases aged first', async () => {
    const lines: string[] = [];
    const result = await runMailBench({ size: 'tiny', ageMs: 1000, log: (line) => lines.push(line) });
    // --age: on each target, the mixed, store (one line per client count) and smtp phases ran their own load first.
    for (const what of [/aged: \d+ commands of the mix/, /aged: \d+ STOREs, 1 client,/, /aged: \d+ STOREs, 2 clients,/, /aged: [1-9]\d* messages of 4 KiB/])
      expect(lines.filter((line) => what.test(line)), String(what)).toHaveLength(2);
    expectFigures(result.reference, lines);
    expectFigures(result.post!, lines);
    expectCpuParts(result.post!);
    expectWriteFloor(result.post!, lines);
    expect((result.reference.store as { ok: true; result: any }).result.floor).toBeUndefined();
    expect((result.reference.smtp as { ok: true; result: any }).result.floor).toBeUndefined();
    expect((result.reference.smtp as { ok: true; result: any }).result.fanOutFloor).toBeUndefined();
    // The floor published once beside the reference's acceptance, per size, as a bound (no verdict on POST).
    for (const size of ['4 KiB', '100 KiB'])
      expect(lines.filter((line) => line.includes(`SMTP persistent ${size}: a bare write published once`) && line.includes('(a bound: no POST code in it)')), size).toHaveLength(1);
    expectUserGrowth(result.post!);
    for (const name of mailPhaseNames) expect(result.comparison[name]?.length, name).toBeGreaterThan(0);
    expect(result.problems).toEqual([]);
    expect(result.valid).toBe(true);
  }, TEST_TIMEOUT_MS);
});
