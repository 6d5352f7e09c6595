// Runs one client frame: as a command (parse, look up, check state, check arguments, handle), as
// the line that ends IDLE, or as a SASL response. Returns an outcome for the session machine;
// untagged responses are written as they are produced, the tagged reply is left to the machine
// (which may delay it to throttle). Every failure becomes a reply: nothing here throws.
import { MailBackendError } from '../backend';
import { logIn } from './authentication';
import { noReplyFor } from './backendErrors';
import { CommandFailure, type CommandResult, type ReplyStatus } from './command';
import type { CommandFrame } from './framer';
import { ImapSyntaxError, frameText, parseCommand } from './parser';
import { findCommand } from './registry';
import { decodeSaslBase64 } from './sasl';
import { applySchema, ArgumentError } from './schema';
import type { ImapSession, SessionStateName } from './session';

export type FrameMode = 'command' | 'idle' | 'sasl';

export type Penalty = 'badCommand' | 'failedLogin';

export type CommandOutcome =
  | {
      readonly kind: 'reply';
      /** undefined: the line had no usable tag ("* BAD"). */
      readonly tag: string | undefined;
      readonly status: ReplyStatus;
      readonly code?: string;
      readonly text: string;
      readonly next: SessionStateName;
      readonly penalty?: Penalty;
      /** The command answered (for metrics); absent for a line that was not one. */
      readonly command?: string;
    }
  | { readonly kind: 'idle' }
  | { readonly kind: 'saslContinue' }
  | { readonly kind: 'startTls' | 'compress'; readonly tag: string; readonly text: string };

const stateNames: Record<SessionStateName, string> = {
  notAuthenticated: 'not authenticated',
  authenticated: 'authenticated',
  selected: 'selected',
  logout: 'logout',
};

function wrongStateText(name: string, state: SessionStateName, allowed: readonly SessionStateName[]): string {
  if (state === 'notAuthenticated' && !allowed.includes('notAuthenticated')) return `${name} needs you to log in first`;
  if (state === 'authenticated' && allowed.includes('selected')) return `${name} needs a selected mailbox (SELECT or EXAMINE first)`;
  return `${name} is not allowed in the ${stateNames[state]} state`;
}

function resultFromError(session: ImapSession, commandName: string, error: unknown): CommandResult {
  if (error instanceof CommandFailure) return { kind: 'done', status: error.status, text: error.message, ...(error.code ? { code: error.code } : {}) };
  if (error instanceof ArgumentError) return { kind: 'done', status: 'BAD', text: `${commandName}: ${error.message}` };
  if (error instanceof ImapSyntaxError) return { kind: 'done', status: 'BAD', text: `${commandName}: ${error.message}` };
  if (error instanceof MailBackendError) {
    const reply = noReplyFor(error);
    return { kind: 'done', status: 'NO', code: reply.code, text: reply.text };
  }
  session.log.error('imap.command.crashed', { command: commandName, error: String((error as Error)?.stack ?? error) });
  return { kind: 'done', status: 'NO', code: 'SERVERBUG', text: `${commandName} failed because of an internal error; it was logged` };
}

async function finish(session: ImapSession, tag: string | undefined, result: CommandResult, allowExpunge: boolean, command?: string): Promise<CommandOutcome> {
  if (result.kind === 'idle' || result.kind === 'saslContinue') return result;
  if (result.kind === 'startTls' || result.kind === 'compress') return { kind: result.kind, tag: tag!, text: result.text };
  let next = result.next ?? session.state;
  if (next === 'selected' || (next === session.state && session.selected)) {
    const stillSelected = await session.flushUpdates(allowExpunge).catch((error: unknown) => {
      session.log.warn('imap.updates.failed', { error: String(error) });
      return true;
    });
    if (!stillSelected) next = 'logout';
  }
  // NOTIFY: what came for other mailboxes and the folder list goes before the tagged reply.
  if (next !== 'logout' && session.notifier) {
    await session.flushNotifications().catch((error: unknown) => session.log.warn('imap.notify.flush_failed', { error: String(error) }));
  }
  session.state = next;
  const penalty = result.failedLogin ? 'failedLogin' : result.status === 'BAD' ? 'badCommand' : undefined;
  return {
    kind: 'reply',
    tag,
    status: result.status,
    text: result.text,
    next,
    ...(result.code ? { code: result.code } : {}),
    ...(penalty ? { penalty } : {}),
    ...(command ? { command } : {}),
  };
}

async function runCommand(session: ImapSession, frame: CommandFrame): Promise<CommandOutcome> {
  let command;
  try {
    command = parseCommand(frame);
  } catch (error) {
    const syntax = error as ImapSyntaxError;
    return finish(session, syntax.tag, { kind: 'done', status: 'BAD', text: `Syntax error: ${syntax.message}` }, true);
  }
  const spec = findCommand(command.name);
  if (!spec) return finish(session, command.tag, { kind: 'done', status: 'BAD', text: `Unknown command ${command.name}` }, true);
  if (!spec.states.includes(session.state)) {
    return finish(session, command.tag, { kind: 'done', status: 'BAD', text: wrongStateText(command.name, session.state, spec.states) }, true, command.name);
  }
  if (session.selected?.isRenumbered) {
    // Its UIDs may name other messages now: no command may act on them (finish() says BYE).
    return finish(session, command.tag, { kind: 'done', status: 'NO', code: 'UNAVAILABLE', text: 'The selected mailbox was renumbered; reconnect and select it again' }, true, command.name);
  }
  const uid = command.name.startsWith('UID ');
  if (spec.announcesNewFirst) await session.announceAdditions().catch((error: unknown) => session.log.warn('imap.updates.failed', { error: String(error) }));
  let result: CommandResult;
  try {
    const args = applySchema(spec.schema, command.args, { utf8: session.utf8 });
    result = await spec.handle({ tag: command.tag, command, session, uid }, args);
  } catch (error) {
    result = resultFromError(session, command.name, error);
  }
  return finish(session, command.tag, result, !(spec.holdsExpunges && !uid), command.name);
}

async function endIdle(session: ImapSession, frame: CommandFrame): Promise<CommandOutcome> {
  const tag = session.idleTag;
  session.idleTag = undefined;
  const text = frameText(frame)?.trim().toUpperCase();
  if (text !== 'DONE') return finish(session, tag, { kind: 'done', status: 'BAD', text: 'Expected DONE to end IDLE' }, true, 'IDLE');
  return finish(session, tag, { kind: 'done', status: 'OK', text: 'IDLE terminated' }, true, 'IDLE');
}

async function continueSasl(session: ImapSession, frame: CommandFrame): Promise<CommandOutcome> {
  const exchange = session.sasl;
  session.sasl = undefined;
  if (!exchange) return finish(session, undefined, { kind: 'done', status: 'BAD', text: 'No authentication in progress' }, true);
  const text = frameText(frame) ?? '';
  if (text.trim() === '*') return finish(session, exchange.tag, { kind: 'done', status: 'BAD', text: 'AUTHENTICATE cancelled' }, true);
  let result: CommandResult;
  try {
    const step = exchange.step(decodeSaslBase64(text));
    if ('challenge' in step) {
      session.sasl = exchange;
      await session.continuation(step.challenge.length > 0 ? step.challenge : '');
      return { kind: 'saslContinue' };
    }
    result = await logIn(session, step.username, step.password);
  } catch (error) {
    result = resultFromError(session, 'AUTHENTICATE', error);
  }
  return finish(session, exchange.tag, result, true, 'AUTHENTICATE');
}

export function runFrame(session: ImapSession, frame: CommandFrame, mode: FrameMode): Promise<CommandOutcome> {
  if (mode === 'idle') return endIdle(session, frame);
  if (mode === 'sasl') return continueSasl(session, frame);
  return runCommand(session, frame);
}
