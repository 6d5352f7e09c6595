// Every IMAP and SMTP command counted and timed in /metrics, by command name and outcome (issue 11:
// what a user feels is per command). Timed from the command's arrival to its answer, on this node.
import type { Metrics } from '../metrics';

export interface MailCommandObserver {
  /** An IMAP command answered: its name (e.g. "UID FETCH"), its status (OK, NO, BAD). */
  imap(command: string, status: string, ms: number): void;
  /** An SMTP command answered: its name (AUTH, MAIL, RCPT, DATA, ...), its reply code. */
  smtp(command: string, code: number, ms: number): void;
}

export function metricsObserver(metrics: Metrics): MailCommandObserver {
  return {
    imap: (command, status, ms) => metrics.observe('post_imap_command_ms', 'IMAP commands by name and status, from arrival to the tagged reply', ms, { command, status }),
    smtp: (command, code, ms) => metrics.observe('post_smtp_command_ms', 'SMTP commands by name and reply code, from arrival to the reply', ms, { command, code: String(code) }),
  };
}
