// Runs the SMTP session's pure step function (machines/smtpSession.step.ts) on a StepRunner
// (actors/stepRunner.ts): its effects performed with the session's SmtpSessionEffects, its work
// answered by `<name>.done` / `<name>.error` events as machines/work.ts answers the machine's.
import type { SmtpSessionEffects, SmtpSessionInput, SmtpWork } from '../../machines/smtpSession.machine';
import { type SmtpSessionEffect, type SmtpSessionState, type SmtpSessionStepEvent, type SmtpSessionTimer, startSmtpSession, stepSmtpSession } from '../../machines/smtpSession.step';
import { answerWith, type SessionRunnerOptions, StepRunner } from '../stepRunner';

export type SmtpSessionRunnerOptions = SessionRunnerOptions<SmtpSessionEffects, SmtpSessionInput, SmtpSessionState>;

type OwnEffect = Exclude<SmtpSessionEffect, { type: 'startTimer' | 'cancelTimer' }>;

export type SmtpSessionRunner = StepRunner<SmtpSessionState, SmtpSessionStepEvent, OwnEffect, SmtpSessionTimer>;

export function smtpSessionRunner(options: SmtpSessionRunnerOptions): SmtpSessionRunner {
  const fx = options.effects;
  /** Starts `name`'s work; its output or failure comes back as `<name>.done` / `<name>.error`. */
  const work = <O>(name: SmtpWork, start: () => Promise<O>) =>
    answerWith(
      (event: SmtpSessionStepEvent) => runner.send(event),
      start,
      (output) => ({ type: `${name}.done`, output }) as SmtpSessionStepEvent,
      (error) => ({ type: `${name}.error`, error }) as SmtpSessionStepEvent,
    );
  const runner: SmtpSessionRunner = new StepRunner<SmtpSessionState, SmtpSessionStepEvent, OwnEffect, SmtpSessionTimer>({
    start: () => startSmtpSession(options.input),
    step: (state, event) => stepSmtpSession(state, event),
    isDone: (state) => state.value === 'closed',
    timerEvent: (timer) => ({ type: 'TIMER', timer }),
    clock: options.clock,
    onStep: options.onStep,
    onCrash: options.onCrash,
    perform: (effect) => {
      switch (effect.type) {
        case 'answer':
          return fx.answer(effect.answer);
        case 'disconnect':
          return fx.disconnect(effect.reply);
        case 'authenticate':
          return work('authenticate', () => fx.authenticate(effect.input));
        case 'checkSendRate':
          return work('checkSendRate', () => fx.checkSendRate(effect.input));
        case 'checkRecipient':
          return work('checkRecipient', () => fx.checkRecipient(effect.input));
        case 'receiveMessage':
          return work('receiveMessage', () => fx.receiveMessage(effect.input));
        case 'deliver':
          return work('deliver', () => fx.deliver(effect.input));
      }
    },
  });
  return runner;
}
