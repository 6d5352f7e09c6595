// One SMTP connection as smtp-server runs it, with three additions the library has no option for.
// Each is a small override of smtp-server 3.21's SMTPConnection (pinned in package.json; the
// integration tests fail if a new version changes these seams):
// 1. Replies carry the enhanced status code we chose: smtp-server derives one from the basic code
//    alone (550 is always 5.1.1), so "550 5.7.1 relay denied" would be impossible. A reply text
//    that starts with an enhanced code is sent as is.
// 2. Every reply is reported (command name and code, never arguments) to the session actor, which
//    counts syntax and sequence errors the library answers itself (500, 501, 503, ...).
// 3. Every command passes a gate the session actor controls: while the session is throttled, the
//    next command waits (on the node's Clock) instead of being answered at once.
// It also answers 530 5.7.0 (RFC 3207) where the library would answer its non-standard 538, and
// greets a submission client at once: the library waits 100 ms before every greeting to catch
// spammers that talk before it (a port-25 defence; on submission every client must log in first).
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { replies } from '../../mail/smtp/replies';

export interface SmtpConnectionHooks {
  /** Calls `proceed` when the command may run: at once, or after the session's penalty delay. */
  admit(command: string, proceed: () => void): void;
  replied(command: string, code: number): void;
}

const enhancedPrefix = /^[245]\.\d{1,3}\.\d{1,3} /;

/** The command's name for the session machine: a short upper-case word, or UNKNOWN. */
export function commandNameOf(line: Buffer | string): string {
  const word = line.toString('latin1').trimStart().split(/[\s:]/, 1)[0] ?? '';
  return /^[A-Za-z]{1,12}$/.test(word) ? word.toUpperCase() : 'UNKNOWN';
}

export class SmtpGatewayConnection extends SMTPConnection {
  hooks: SmtpConnectionHooks | undefined;
  /** Wait for early talkers before the greeting (the library's 100 ms), or greet at once. */
  greetPause = true;
  private currentCommand = '';

  override init(): void {
    if (this.greetPause) return super.init();
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      if (maxClients && this._server.connections.size > maxClients) return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      this.connectionReady();
    });
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (code === 538) {
      const r = replies.startTlsRequired();
      [code, data, context] = [r.code, `${r.enhanced} ${r.text}`, false];
    } else if (typeof data === 'string' && enhancedPrefix.test(data)) {
      context = false;
    }
    super.send(code, data, context);
    this.hooks?.replied(this.currentCommand, code);
  }

  override _onCommand(command: Buffer, callback?: () => void): void {
    // A continuation line of AUTH LOGIN/PLAIN carries credentials, not a command name.
    const name = this._nextHandler ? 'AUTH' : commandNameOf(command);
    const run = (): void => {
      this.currentCommand = name;
      super._onCommand(command, callback);
    };
    if (this.hooks) this.hooks.admit(name, run);
    else run();
  }
}
