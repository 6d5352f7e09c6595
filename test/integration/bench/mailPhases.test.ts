// The mail benchmark's raw-client phases (latency, mixed, growth) at a tiny size against the real IMAP
// server over the in-memory backend: every phase produces figures, and the mixed workload's
// consistency checker finds 0 errors on a correct server. (Against POST and the reference, with the
// SMTP phases too: mailBench.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailBenchUsers, planMailBench, runMailPhases } from '../../../bench/mail';
import { fillFolder } from '../../../bench/mail/fill';
import type { MailTarget } from '../../../bench/mail/target';
import { startTestServer, type RunningServer } from '../imap/serverFixture';

let running: RunningServer;
let target: MailTarget;
const plan = planMailBench({ size: 'tiny', phases: ['latency', 'mixed', 'growth'] });

beforeAll(async () => {
  running = await startTestServer();
  const users = mailBenchUsers(plan);
  for (const user of users) running.store.addUser(user.address, user.password);
  const endpoint = { host: '127.0.0.1', port: running.server.port };
  target = { name: 'in-memory IMAP', imap: endpoint, smtp: endpoint, users };
});

afterAll(async () => {
  await running?.server.close();
});

describe('mail benchmark phases on the in-memory IMAP server', () => {
  it('mail bench: latency, mixed and growth produce figures at a tiny size, and the mixed run has 0 consistency errors', async () => {
    const lines: string[] = [];
    const outcomes = await runMailPhases(target, plan, (line) => lines.push(line));
    for (const [name, outcome] of Object.entries(outcomes)) expect(outcome, `${name}: ${lines.join('\n')}`).toMatchObject({ ok: true });
    const [latency, mixed, growth] = [outcomes.latency, outcomes.mixed, outcomes.growth].map((o) => (o as { result: any }).result);
    const { runs, bigRuns } = plan.find((p) => p.phase.name === 'latency')!.options;
    for (const command of ['LOGIN', 'SELECT INBOX (empty)', 'SELECT Big', 'FETCH 1:* (FLAGS ENVELOPE), 100', 'UID SEARCH SUBJECT', 'STORE +FLAGS (1 message)', 'APPEND 4 KiB', 'EXPUNGE (1 message)', 'LOGOUT']) {
      expect(latency.commands[command]?.latencyMs.n, command).toBe(command === 'SELECT Big' ? bigRuns : runs);
      expect(latency.commands[command].latencyMs.p50).toBeGreaterThan(0);
    }
    expect(mixed.errors, mixed.errorExamples.join('\n')).toBe(0);
    expect(mixed.commands).toBeGreaterThan(0);
    for (const command of ['LOGIN', 'SELECT', 'FETCH', 'STORE', 'APPEND']) expect(mixed.perCommand[command].n, command).toBeGreaterThan(0);
    expect(growth.folder.levels.map((l: { messages: number }) => l.messages)).toEqual([20, 60]);
    expect(growth.folder.levels[1].commands['FETCH 1:* (FLAGS)'].n).toBeGreaterThan(0);
    expect(growth.users).toBeNull(); // no spare host on this target
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
