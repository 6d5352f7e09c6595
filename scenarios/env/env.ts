// What a scenario can do to a system and ask of it, on the deterministic simulator or on the real
// local lab. Scenarios are written once against this; faults a target cannot produce say so.
import type { Outcome } from '../history';
import type { InboxReads } from '../checkers';
import type { CrashableActor } from '../../protocol/control';

export class Unsupported extends Error {
  constructor(what: string, env: string) {
    super(`${what} is not available on the ${env}; run this scenario with --sim`);
    this.name = 'Unsupported';
  }
}

/** What the live nodes' audits found after a run (see ReplicaManagerService.audit). */
export interface Audit {
  /** Blocks and objects with fewer than k verified replicas (an unanswered audit counts as one). */
  readonly underReplicated: number;
  /** Nodes that did not answer their audit (the lab; each counted in underReplicated). */
  readonly unanswered?: string[];
  readonly forks: string[];
  /** Drops holding notifications not yet delivered, a line per drop and node. */
  readonly pendingDrops: string[];
}

export interface ScenarioEnv {
  readonly kind: 'sim' | 'lab';
  /** Replicas per object the checkers expect. */
  readonly k: number;
  /** Milliseconds (simulated on the simulator). */
  now(): number;
  /** Let time pass (the simulator runs its clock; the lab sleeps). */
  wait(ms: number): Promise<void>;
  /** Mail users (addresses) the workload may use. */
  users(): string[];
  /** Live nodes, by id. */
  nodes(): string[];
  /** The organisations (mail domains) of the workload's users: one, unless the env was made with more. */
  orgs(): string[];
  /**
   * An organisation's gateway nodes (members of its ring and of the global ring, carrying mail between
   * organisations), up or down, always in the same order; none when the env has one organisation.
   */
  gateways(org: string): string[];
  /** Nodes that host a user (killing them takes a user offline). */
  userNodes(): string[];
  /** The node hosting `user` (its home). */
  homeOf(user: string): string;
  /** The standby hosts of `user` that answer, with where their standby machine is and what it delivered since taking over. */
  standbys(user: string): Promise<StandbyView[]>;
  /** Submit a mail as SMTP would: ok = 250; failed = a permanent refusal; unknown = timeout / temporary. */
  sendMail(from: string, to: string, subject: string): Promise<{ outcome: Outcome; error?: string }>;
  /**
   * Send a chat message from `from`'s own node, as an XMPP client or `post message send` does (one
   * conversation store: the users' `messages` logs): ok = every recipient notified; unknown = timeout or
   * a notification not confirmed; failed = refused, or `from`'s node is down (nothing was sent).
   */
  sendChat?(from: string, to: string, text: string): Promise<{ outcome: Outcome; error?: string }>;
  /** Per user, the chat messages it received (sender and text), in the order its conversation store holds them (what its clients are shown). */
  received?(): Promise<ReadonlyMap<string, readonly { from: string; text: string }[]>>;
  /**
   * A CalDAV request of `user` to `node`'s DAV tree (`path` under /dav/), logged in with the user's
   * password, as a calendar app on a device sends it. Throws when the node is down or does not answer in
   * time (the write's outcome is then unknown).
   */
  dav?(user: string, node: string, request: ScenarioDavRequest): Promise<ScenarioDavResponse>;
  /** Subjects in each user's INBOX, with their counts; an INBOX that cannot be read is empty and says why. */
  inboxes(): Promise<InboxReads>;
  kill(node: string): Promise<void>;
  restart(node: string): Promise<void>;
  partition(groups: string[][]): Promise<void>;
  heal(): Promise<void>;
  /** A NATS server dies with messages in flight (and comes back on heal). */
  crashNats(): Promise<void>;
  restoreNats(): Promise<void>;
  slow(node: string, extraMs: number): Promise<void>;
  unslow(node: string): Promise<void>;
  /** An actor of a node fails as a bug would (its supervisor restarts it). */
  crashActor(node: string, actor: CrashableActor): Promise<void>;
  /** Supervisor restarts per actor on a node since it started; undefined when the node does not answer. */
  restarts(node: string): Promise<Record<string, number> | undefined>;
  /** Flip bytes of `count` blocks on a node's disk; returns how many were corrupted. */
  corrupt(node: string, count: number): Promise<number>;
  /** One device of `user` logged in on `node`: append messages to a folder, set flags (two at once = two devices). */
  device(user: string, node: string): Promise<Device>;
  /** Every hosted user pulls its pending notifications now (what a node does on reconnect, and every minute). */
  flush(): Promise<void>;
  /** Under-replicated block and object ids, and forked objects, across the whole system. */
  audit(): Promise<Audit>;
  /** Start several operations at once (two devices writing together) and wait for all of them. */
  together<T>(fs: (() => Promise<T>)[]): Promise<T[]>;
  /**
   * Run a whole scenario (concurrent senders, faults, final reads) as one: on the simulator its clock
   * runs until `f` settles, at most `maxMs` of simulated time, and nothing inside runs it again.
   */
  run<T>(f: () => Promise<T>, maxMs: number): Promise<T>;
  /** Restart every node that is down (killed by an earlier fault); returns their ids. */
  revive(): Promise<string[]>;
  /** The nodes' lease and GC pass when a lab shortened them to watch GC (`post lab up --gc-lease`); undefined: the defaults, or not supported. */
  gcTimings?(): { leaseMs: number; gcIntervalMs: number } | undefined;
  /** Bytes stored on every live node, replicas included. */
  storedBytes?(): Promise<number>;
  /** Progress for people watching (stderr, and the lab dashboard). */
  progress(event: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface ScenarioDavRequest {
  readonly method: string;
  /** Under /dav/, without the leading slash: calendars/ADDRESS/SLUG/NAME.ics */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface ScenarioDavResponse {
  readonly status: number;
  readonly etag: string | undefined;
  readonly body: string;
}

export interface StandbyView {
  readonly node: string;
  readonly rank: number;
  /** 'watching', 'suspecting', 'delivering.active', 'delivering.handingBack'. */
  readonly state: string;
  readonly delivered: number;
}

export interface Device {
  append(folder: string, subject: string): Promise<Outcome>;
  flag(folder: string, subject: string, flag: string): Promise<Outcome>;
  /** Subject -> flags, as this device sees the folder now. */
  list(folder: string): Promise<Map<string, string[]>>;
  /** Append a message with this body (a mail with content of its own); where the target supports it. */
  appendBody?(folder: string, subject: string, body: string): Promise<Outcome>;
  /** Delete and expunge these messages (by subject). */
  expunge?(folder: string, subjects: readonly string[]): Promise<Outcome>;
  /** The whole message, read back; undefined when it is not there or cannot be read. */
  read?(folder: string, subject: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

/** A minimal RFC 5322 message with a unique subject. */
export function rawMail(from: string, to: string, subject: string, dateMs: number, body = `${subject}\r\n`): Buffer {
  return Buffer.from(
    `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nDate: ${new Date(dateMs).toUTCString()}\r\nMessage-ID: <${subject.replace(/\W/g, '.')}@scenario>\r\n\r\n${body}`,
  );
}

/** How an SMTP client library reports a failed submission (nodemailer's fields). */
export interface SmtpFailure {
  readonly responseCode?: number;
  /** The client's own code: ESOCKET, ETIMEDOUT, ECONNREFUSED, ... */
  readonly code?: string;
  /** The step that failed: CONN, MAIL FROM, RCPT TO, DATA, ... */
  readonly command?: string;
  readonly message: string;
}

/**
 * What a failed submission means for the history. Failed (nothing was accepted, so the mail must never
 * show up): a 5xx, no server to talk to, or any refusal of MAIL FROM or RCPT TO (a sender over its
 * rate, a recipient refused), which come before the message exists. Unknown: a timeout, a dropped
 * connection or a temporary 4xx once the message was sent, any of which may follow a write that landed.
 */
export function smtpFailureOutcome(x: SmtpFailure): Outcome {
  // nodemailer reports a refused connection as code ESOCKET on its CONN step, the system's ECONNREFUSED only in the message.
  const noServer = x.code === 'ECONNREFUSED' || (x.command === 'CONN' && /\bECONNREFUSED\b/.test(x.message));
  const beforeMessage = x.responseCode !== undefined && (x.command === 'MAIL FROM' || x.command === 'RCPT TO');
  return (x.responseCode !== undefined && x.responseCode >= 500) || noServer || beforeMessage ? 'failed' : 'unknown';
}

/** What a failed call says, for a report: its message, or the value itself when it is no Error. */
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The Subject header of a raw message. */
export function subjectOf(raw: Uint8Array): string {
  const head = Buffer.from(raw.subarray(0, Math.min(raw.length, 8192))).toString('latin1');
  return /^Subject: ?(.*)$/im.exec(head.split('\r\n\r\n')[0] ?? '')?.[1]?.trim() ?? '';
}
