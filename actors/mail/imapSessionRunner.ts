// Runs the IMAP session's pure step function (machines/imapSession.step.ts) on a StepRunner
// (actors/stepRunner.ts): its effects performed with the connection's ImapSessionEffects, its work
// (a frame, an IDLE flush, a NOTIFY push, a layer change) answered by events.
import type { ImapSessionEffects, ImapSessionInput } from '../../machines/imapSession.machine';
import { type ImapSessionEffect, type ImapSessionState, type ImapSessionStepEvent, type ImapSessionTimer, startImapSession, stepImapSession } from '../../machines/imapSession.step';
import { answerWith, type SessionRunnerOptions, StepRunner } from '../stepRunner';

export type ImapSessionRunnerOptions = SessionRunnerOptions<ImapSessionEffects, ImapSessionInput, ImapSessionState>;

type OwnEffect = Exclude<ImapSessionEffect, { type: 'startTimer' | 'cancelTimer' }>;

export type ImapSessionRunner = StepRunner<ImapSessionState, ImapSessionStepEvent, OwnEffect, ImapSessionTimer>;

export function imapSessionRunner(options: ImapSessionRunnerOptions): ImapSessionRunner {
  const fx = options.effects;
  const runner: ImapSessionRunner = new StepRunner<ImapSessionState, ImapSessionStepEvent, OwnEffect, ImapSessionTimer>({
    start: (now) => startImapSession(options.input, now),
    step: stepImapSession,
    isDone: (state) => state.value === 'logout',
    timerEvent: (timer) => ({ type: 'TIMER', timer }),
    clock: options.clock,
    onStep: options.onStep,
    onCrash: options.onCrash,
    perform: (effect) => {
      const send = (event: ImapSessionStepEvent) => runner.send(event);
      switch (effect.type) {
        case 'sendGreeting':
          return fx.sendGreeting();
        case 'sendStatus':
          return fx.sendStatus(effect.params);
        case 'sendLiteralContinuation':
          return fx.sendLiteralContinuation();
        case 'discardInput':
          return fx.discardInput();
        case 'closeConnection':
          return fx.closeConnection();
        case 'endSession':
          return fx.endSession();
        case 'runFrame':
          return answerWith(
            send,
            () => fx.runFrame(effect.params),
            (output) => ({ type: 'runFrame.done' as const, output }),
            (error) => ({ type: 'runFrame.error' as const, error }),
          );
        case 'work': {
          const id = effect.id;
          const work: () => Promise<unknown> = () => fx[effect.src]();
          return answerWith(
            send,
            work,
            (output) => ({ type: 'WORK_DONE' as const, id, output }),
            (error) => ({ type: 'WORK_FAILED' as const, id, error }),
          );
        }
      }
    },
  });
  return runner;
}
