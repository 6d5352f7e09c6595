// Filling folders fast, for the phases that need large ones: APPENDs pipelined over several
// connections of the same user (LITERAL+, `inFlight` outstanding per connection), as a sync client
// uploading a mailbox would. The server may group-commit concurrent appends; one at a time, 100,000
// messages would take hours on a slow server. A server that offers MULTIAPPEND (RFC 3502) gets
// batches of messages per APPEND instead (Dovecot locks a folder per APPEND, so concurrent single
// APPENDs to one folder gain it nothing); the result says which way was used. Every reply is checked.
import { round } from '../stats';
import { expectOk, ImapProtocolError, quote, RawImapClient } from './rawImap';
import type { Endpoint, MailUser } from './target';

/** Dovecot allows 10 IMAP connections per user and address by default; leave room for the measuring session. */
const FILL_CONNECTIONS = 6;
const FILL_IN_FLIGHT = 4;
/** Messages per MULTIAPPEND command (~200 KiB of 4 KiB messages). */
const FILL_BATCH = 50;

export interface FillPlan {
  imap: Endpoint;
  user: MailUser;
  folder: string;
  /** Message indexes [from, to) are appended, in order of start. */
  from: number;
  to: number;
  message: (i: number) => { raw: Buffer; flags: readonly string[] };
  connections?: number;
  inFlight?: number;
  /** performance.now() after which no more APPENDs are started: the fill may stop short of `to`. */
  deadlineMs?: number;
}

export interface FillResult {
  /** Messages appended: from .. from + messages - 1, all of them unless the deadline came first. */
  messages: number;
  complete: boolean;
  seconds: number;
  perSecond: number;
  method: 'APPEND' | 'MULTIAPPEND';
}

/** Logs a user in on a fresh connection (each command of which may take up to `timeoutMs`). */
export async function loggedIn(imap: Endpoint, user: MailUser, timeoutMs?: number): Promise<RawImapClient> {
  const client = await RawImapClient.connect(imap, timeoutMs === undefined ? {} : { timeoutMs });
  try {
    expectOk(await client.command(`LOGIN ${quote(user.address)} ${quote(user.password)}`), `LOGIN ${user.address}`);
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

export const appendCommand = (folder: string, flags: readonly string[]) => `APPEND ${quote(folder)} (${flags.join(' ')})`;

export async function fillFolder(plan: FillPlan): Promise<FillResult> {
  const count = Math.max(0, plan.to - plan.from);
  const probe = await loggedIn(plan.imap, plan.user);
  const method = probe.capabilities.has('MULTIAPPEND') ? 'MULTIAPPEND' : 'APPEND';
  if (count === 0) {
    await probe.close();
    return { messages: 0, complete: true, seconds: 0, perSecond: 0, method };
  }
  const perCommand = method === 'MULTIAPPEND' ? FILL_BATCH : 1;
  const inFlight = probe.literalPlus ? (plan.inFlight ?? FILL_IN_FLIGHT) : 1;
  const connections = Math.min(plan.connections ?? FILL_CONNECTIONS, Math.ceil(count / (inFlight * perCommand)));
  const clients = [probe, ...(await Promise.all(Array.from({ length: connections - 1 }, () => loggedIn(plan.imap, plan.user))))];
  let next = plan.from;
  const t0 = performance.now();
  try {
    const lane = async (client: RawImapClient) => {
      while (next < plan.to && !(plan.deadlineMs !== undefined && performance.now() > plan.deadlineMs)) {
        const first = next;
        next = Math.min(plan.to, next + perCommand);
        const parts: (string | Buffer)[] = [`APPEND ${quote(plan.folder)}`];
        for (let i = first; i < next; i++) {
          const { raw, flags } = plan.message(i);
          parts[parts.length - 1] += ` (${flags.join(' ')})`;
          parts.push(raw, '');
        }
        const reply = await client.commandWithLiterals(parts);
        if (reply.status !== 'OK') throw new ImapProtocolError(`APPEND of messages ${first}..${next - 1} to ${plan.folder} for ${plan.user.address}: ${reply.status} ${reply.text}`);
      }
    };
    await Promise.all(clients.flatMap((client) => Array.from({ length: inFlight }, () => lane(client))));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const seconds = (performance.now() - t0) / 1000;
  const appended = next - plan.from;
  return { messages: appended, complete: next === plan.to, seconds: round(seconds, 2), perSecond: round(appended / seconds, 1), method };
}
