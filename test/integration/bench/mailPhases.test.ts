// The mail benchmark's raw-client phases (latency, mixed, store, growth) at a tiny size against the real IMAP
// server over the in-memory backend (a second one is the spare host of the user-count growth, and
// refuses to create one user): every phase produces figures, and the mixed workload's consistency
// checker finds 0 errors on a correct server. (Against POST and the reference, with the SMTP phases
// too: mailBench.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailBenchUsers, planMailBench, runMailPhases } from '../../../bench/mail';
import { fillFolder } from '../../../bench/mail/fill';
import { growthPhase } from '../../../bench/mail/growth';
import type { MailTarget, MailUser } from '../../../bench/mail/target';
import { processesMemory } from '../../../bench/reference/processes';
import { startTestServer, type RunningServer } from '../imap/serverFixture';

let running: RunningServer;
let spare: RunningServer;
let target: MailTarget;
const refused: string[] = [];
const plan = planMailBench({ size: 'tiny', phases: ['latency', 'mixed', 'store', 'growth'], ageMs: 300 });

beforeAll(async () => {
  running = await startTestServer();
  spare = await startTestServer();
  const users = mailBenchUsers(plan);
  for (const user of users) running.store.addUser(user.address, user.password);
  const endpoint = { host: '127.0.0.1', port: running.server.port };
  const addUsers = async (more: readonly MailUser[]) => {
    const failed: { user: MailUser; error: string }[] = [];
    for (const user of more) {
      // The first user of the second batch is refused once, as a target may refuse one under load.
      if (more.length === 1 && refused.length === 0 && user.address.startsWith('host0002')) {
        refused.push(user.address);
        failed.push({ user, error: 'refused by the test' });
      } else spare.store.addUser(user.address, user.password);
    }
    return { failed };
  };
  const spareHost = { imap: { host: '127.0.0.1', port: spare.server.port }, memory: () => processesMemory([process.pid]), addUsers };
  target = { name: 'in-memory IMAP', imap: endpoint, smtp: endpoint, users, spareHost };
});

afterAll(async () => {
  await running?.server.close();
  await spare?.server.close();
});

describe('mail benchmark phases on the in-memory IMAP server', () => {
  it('mail bench: latency, mixed, store and growth produce figures at a tiny size, and the mixed run has 0 consistency errors', async () => {
    const lines: string[] = [];
    const outcomes = await runMailPhases(target, plan, (line) => lines.push(line));
    for (const [name, outcome] of Object.entries(outcomes)) expect(outcome, `${name}: ${lines.join('\n')}`).toMatchObject({ ok: true });
    const [latency, mixed, store, growth] = [outcomes.latency, outcomes.mixed, outcomes.store, outcomes.growth].map((o) => (o as { result: any }).result);
    const { runs, bigRuns } = plan.find((p) => p.phase.name === 'latency')!.options;
    for (const command of ['LOGIN', 'SELECT INBOX (empty)', 'SELECT Big', 'FETCH 1:* (FLAGS ENVELOPE), 100', 'UID SEARCH SUBJECT', 'STORE +FLAGS (1 message)', 'APPEND 4 KiB', 'EXPUNGE (1 message)', 'LOGOUT']) {
      expect(latency.commands[command]?.latencyMs.n, command).toBe(command === 'SELECT Big' ? bigRuns : runs);
      expect(latency.commands[command].latencyMs.p50).toBeGreaterThan(0);
    }
    expect(mixed.errors, mixed.errorExamples.join('\n')).toBe(0);
    expect(mixed.commands).toBeGreaterThan(0);
    // --age: the mix ran untimed first (its commands not in the figures), its sessions kept for the timed run.
    expect(lines.filter((line) => /aged: [1-9]\d* commands of the mix in [\d.]+ s, untimed; consistency errors so far: 0/.test(line))).toHaveLength(1);
    expect(lines.filter((line) => /aged: [1-9]\d* STOREs, /.test(line))).toHaveLength(2);
    for (const command of ['LOGIN', 'SELECT', 'FETCH', 'STORE', 'APPEND']) expect(mixed.perCommand[command].n, command).toBeGreaterThan(0);
    // STORE alone at 1 and 2 clients: every reply checked, none wrong; no floor where nothing is replicated.
    expect(store.runs.map((r: { clients: number; errors: number }) => [r.clients, r.errors])).toEqual([[1, 0], [2, 0]]);
    expect(store.runs[1].stores).toBeGreaterThan(0);
    expect(store.floor).toBeUndefined();
    expect(growth.folder.levels.map((l: { messages: number }) => l.messages)).toEqual([20, 60]);
    expect(growth.folder.levels[1].commands['FETCH 1:* (FLAGS)'].n).toBeGreaterThan(0);
    // Sorting, threading and body search of the grown folder: answered, and every answer checked.
    for (const label of ['UID SORT (SUBJECT)', 'UID THREAD REFERENCES', 'UID SEARCH BODY']) expect(growth.folder.levels[1].commands[label].n).toBeGreaterThan(0);
    expect(growth.folder.failed).toBeUndefined();
    expect(growth.users.levels.map((l: { users: number }) => l.users)).toEqual([1, 2]);
    expect(growth.users.levels[1].commands.LOGIN.n).toBeGreaterThan(0);
    expect(refused).toEqual(['host0002@bench.example']);
    expect(growth.users.creationFailures).toEqual(['host0002@bench.example: refused by the test']);
    expect(growthPhase.problems!(growth)).toEqual(['1 users could not be created (others were hosted instead), e.g. host0002@bench.example: refused by the test']);
  }, 120_000);

  it('mail bench: a fill stops at its deadline and says how far it got', async () => {
    const user = target.users.find((u) => u.address.startsWith('growth@'))!;
    const message = () => ({ raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'), flags: [] });
    const stopped = await fillFolder({ imap: target.imap, user, folder: 'INBOX', from: 0, to: 50, message, deadlineMs: performance.now() - 1 });
    expect(stopped).toMatchObject({ messages: 0, complete: false });
    const done = await fillFolder({ imap: target.imap, user, folder: 'INBOX', from: 0, to: 50, message, deadlineMs: performance.now() + 60_000 });
    expect(done).toMatchObject({ messages: 50, complete: true });
  });
});
