// A scenario's mail load (issue 13): SCENARIO_LOAD.senders concurrent senders, each submitting one
// mail at a time as a mail client would, with a pause between its mails. Every mail goes into the
// history as invoked, then as ok, failed or unknown. The same load, unfaulted, at the start of a run
// gives the baseline rate that the run's throughput floors are fractions of.
import { SCENARIO_LOAD } from '../protocol/limits';
import { type Rate, rateOf } from './checkers';
import type { ScenarioEnv } from './env/env';
import type { History } from './history';

/** The i-th of `items`, cyclically. */
export const pick = <T>(items: readonly T[], i: number): T => items[((i % items.length) + items.length) % items.length]!;

export class MailLoad {
  private started = 0;
  private acknowledged = 0;
  private stopping = false;
  private readonly senders: Promise<void>[] = [];

  /**
   * @param opts.scenario names the progress lines; with `part` and the run's tag it is in every
   *   subject, so that each mail is told apart in INBOX.
   * @param opts.mailsMax the load stops by itself after this many mails.
   * @param opts.progressEvery a progress line after every this many mails (none without it).
   */
  constructor(
    private readonly env: ScenarioEnv,
    private readonly history: History,
    private readonly opts: { scenario: string; part: string; mailsMax: number; progressEvery?: number },
  ) {}

  /** Starts the senders; they run until stop() or mailsMax. */
  start(): this {
    for (let s = 0; s < SCENARIO_LOAD.senders; s++) this.senders.push(this.sender());
    return this;
  }

  /** Mails acknowledged so far. */
  get ok(): number {
    return this.acknowledged;
  }

  /** The senders finish the mail each is sending, and stop. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.finished();
  }

  /** Resolves when every sender has stopped (after stop(), or by itself at mailsMax). */
  async finished(): Promise<void> {
    await Promise.all(this.senders);
  }

  /** Waits (polling on the env's clock) until `sent` reaches `mails` or the load ended by itself. */
  async until(mails: number): Promise<void> {
    while (this.started < Math.min(mails, this.opts.mailsMax) && !this.stopping) await this.env.wait(SCENARIO_LOAD.pauseMs[this.env.kind]);
  }

  private async sender(): Promise<void> {
    const users = this.env.users();
    while (!this.stopping && this.started < this.opts.mailsMax) {
      const i = this.started++;
      const from = pick(users, i);
      const to = pick(users, i * 7 + 3) === from ? pick(users, i + 1) : pick(users, i * 7 + 3);
      const op = this.history.mail(from, to, `${this.opts.scenario} ${this.opts.part} ${this.history.run} #${i + 1} ${from}->${to}`);
      const r = await this.env.sendMail(op.from, op.to, op.subject);
      this.history.complete(op, r.outcome, r.error);
      if (r.outcome === 'ok') this.acknowledged++;
      if (this.opts.progressEvery && (i + 1) % this.opts.progressEvery === 0) this.env.progress({ scenario: this.opts.scenario, phase: this.opts.part, sent: i + 1, ...this.history.summary() });
      await this.env.wait(SCENARIO_LOAD.pauseMs[this.env.kind]);
    }
  }
}

/** The unfaulted rate at the start of a run: SCENARIO_LOAD.calibrationMails through the same senders. */
export async function measureBaseline(env: ScenarioEnv, history: History, scenario: string): Promise<Rate> {
  env.progress({ scenario, phase: 'baseline' });
  const started = env.now();
  const load = new MailLoad(env, history, { scenario, part: 'baseline', mailsMax: SCENARIO_LOAD.calibrationMails }).start();
  await load.finished();
  const rate = rateOf(load.ok, env.now() - started);
  env.progress({ scenario, phase: 'baseline', ok: rate.ok, perSecond: Number(rate.perSecond.toFixed(2)) });
  return rate;
}
