// What a command module is: the session states it may run in, its argument schema (checked before
// the handler runs), and its handler. One module per command under commands/.
import type { ParsedCommand } from './parser';
import type { ArgSchema, ArgsOf } from './schema';
import type { ImapSession, SessionStateName } from './session';

export type ReplyStatus = 'OK' | 'NO' | 'BAD';

export type CommandResult =
  | {
      readonly kind: 'done';
      readonly status: ReplyStatus;
      readonly text: string;
      readonly code?: string;
      /** State after the command; unchanged when absent. */
      readonly next?: SessionStateName;
      /** A failed login, throttled by the machine. */
      readonly failedLogin?: boolean;
    }
  /** IDLE started ("+ idling" sent); the next line must be DONE. */
  | { readonly kind: 'idle' }
  /** AUTHENTICATE sent a challenge; the next line is the client's response. */
  | { readonly kind: 'saslContinue' }
  /** STARTTLS accepted; the machine sends the reply and then upgrades the connection. */
  | { readonly kind: 'startTls'; readonly text: string }
  /** COMPRESS accepted; the machine sends the reply and then deflates the connection. */
  | { readonly kind: 'compress'; readonly text: string };

export interface CommandContext {
  readonly tag: string;
  readonly command: ParsedCommand;
  readonly session: ImapSession;
  /** The command was prefixed with UID. */
  readonly uid: boolean;
}

export interface CommandSpec<S extends ArgSchema = ArgSchema> {
  /** Command names this module answers, e.g. ["FETCH", "UID FETCH"]. */
  readonly names: readonly string[];
  readonly states: readonly SessionStateName[];
  readonly schema: S;
  /** RFC 3501 7.4.1: FETCH, STORE and SEARCH by sequence number must not report expunges. */
  readonly holdsExpunges?: boolean;
  /**
   * New messages that reached the selected mailbox since the last command are announced (EXISTS)
   * before this command runs, so that its `*` and ALL include them (ImapSession.announceAdditions).
   */
  readonly announcesNewFirst?: boolean;
  handle(context: CommandContext, args: ArgsOf<S>): Promise<CommandResult>;
}

export function defineCommand<const S extends ArgSchema>(spec: CommandSpec<S>): CommandSpec<S> {
  return spec;
}

export function ok(text: string, code?: string, next?: SessionStateName): CommandResult {
  return { kind: 'done', status: 'OK', text, ...(code ? { code } : {}), ...(next ? { next } : {}) };
}

export function no(text: string, code?: string): CommandResult {
  return { kind: 'done', status: 'NO', text, ...(code ? { code } : {}) };
}

export function bad(text: string, code?: string): CommandResult {
  return { kind: 'done', status: 'BAD', text, ...(code ? { code } : {}) };
}

/** Thrown deep inside a handler (item parsers, checks) to end the command with BAD or NO. */
export class CommandFailure extends Error {
  constructor(
    readonly status: 'NO' | 'BAD',
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

export function failBad(message: string, code?: string): never {
  throw new CommandFailure('BAD', message, code);
}

export function failNo(message: string, code?: string): never {
  throw new CommandFailure('NO', message, code);
}
