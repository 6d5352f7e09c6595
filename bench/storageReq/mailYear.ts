// The organisation's year of mail, message by message, with what each one leaves in the ring:
//
// content, three ways (each datum's blocks as putData would write them, storage/blockWriter.ts):
//   unique     every POST recipient's copy of the raw message (with the gateway's Received header),
//              and the sender's Sent copy (the client's APPEND, without it): a conventional server;
//   asBuilt    single-copy as PostSubmission.submit() and IMAP APPEND store it: the message once for
//              all its recipients, and the Sent copy, each a layout record with its bodies of 8 KiB or
//              more as parts shared by both copies and across messages (or whole, without such a body);
//   single     single-copy per MIME part (DESIGN 3's ideal): each leaf body, whatever its size, its
//              own datum, converging across messages and users; the rest of the message (headers, part
//              headers, boundaries, a 74-byte reference per leaf) one datum per copy;
// metadata, the same for all three (written through the real log and notification code):
//   each recipient's INBOX insert (and \Seen when read, \Answered / $Forwarded when answered), the
//   sender's Sent insert and sent-mail record (the MX's postmaster records inbound mail), the heads,
//   and notifications waiting in the drop of a recipient whose machine is off.
import { blake2bHex } from '../../crypto/hash';
import type { SimRandom } from '../../infra/sim/random';
import { BLOCK_REF_BYTES, formatBlockRef } from '../../storage/blocks';
import { DEFAULT_SPECIAL_FOLDERS, folderIndexAddress, folderLogAddress, INBOX, newFolderId } from '../../storage/folders/folderLogs';
import { folderIndexModel } from '../../storage/folders/folderIndexModel';
import type { FolderIndexOp } from '../../storage/folders/folderIndexOps';
import type { FolderOp } from '../../storage/folders/folderOps';
import { logAddressFor } from '../../storage/log/logAddress';
import { type MessagesOp, SENT_MAIL_LOG_NAME } from '../../storage/messages/messagesModel';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { dataBlockSizes } from './dataBlocks';
import { dropEntryBytes } from './envelopes';
import { type MessageBytes, type MessageData, messageBytes, messageData } from './layouts';
import { CONTENT, type Ledger } from './ledger';
import { ExpiryQueue, LogAccount, type LogEnv } from './logAccount';
import { FolderShadow, MessagesShadow, RealModelState } from './logStates';
import type { Organisation } from './organisation';
import { ABSENCE_DAYS, ABSENCE_SPELLS, BULK_READ_SHARE, READ_SHARE, type TraceParams, WEEKEND_FACTOR } from './params';
import { type Leaf, type Received, TraceComposer, type TraceMessage } from './trace';

const DAY_MS = 24 * 3600 * 1000;
interface Logs {
  readonly user: UnlockedUser;
  readonly index: LogAccount<FolderIndexOp>;
  readonly inbox: LogAccount<FolderOp, FolderShadow> | undefined;
  readonly sent: LogAccount<FolderOp, FolderShadow> | undefined;
  readonly sentMail: LogAccount<MessagesOp>;
  /** The folder index's first write (ensureDefaultFolders: INBOX and the special folders, subscribed). */
  readonly defaultFolders: readonly FolderIndexOp[];
}

interface Pending {
  readonly message: TraceMessage;
  readonly bytes: MessageBytes;
  readonly ref: string;
}

export interface TraceCounts {
  messages: number;
  internal: number;
  inbound: number;
  campaign: number;
  deliveries: number;
  /** Bytes delivered to mailboxes (one copy per recipient, and the Sent copies): what users see. */
  mailboxBytes: number;
  /** Distinct leaves stored once although sent again (forwards, re-sent documents, logos, newsletter images). */
  recurringLeafHits: number;
  logOps: number;
}

export class MailYear {
  readonly counts: TraceCounts = { messages: 0, internal: 0, inbound: 0, campaign: 0, deliveries: 0, mailboxBytes: 0, recurringLeafHits: 0, logOps: 0 };
  private nowMs: number;
  private readonly env: LogEnv;
  private readonly composer: TraceComposer;
  private readonly logs: Logs[];
  private readonly postmaster: Logs;
  private readonly storedLeaves = new Set<number>();
  private readonly storedParts = new Set<number>();
  private readonly pending: Pending[][];
  private readonly absences: [number, number][][];
  private readonly ids: SimRandom;
  private readonly draws: SimRandom;

  private constructor(
    private readonly org: Organisation,
    private readonly params: TraceParams,
    private readonly ledger: Ledger,
    random: SimRandom,
    private readonly startMs: number,
  ) {
    this.nowMs = startMs;
    const expiring = new ExpiryQueue();
    this.env = { random: random.fork('seal'), ledger, expiring, now: () => this.nowMs };
    this.composer = new TraceComposer(org, random.fork('trace'));
    this.ids = random.fork('block ids');
    this.draws = random.fork('reads');
    this.pending = org.members.map(() => []);
    const days = Math.round((Date.UTC(2026, params.months, 1) - startMs) / DAY_MS);
    const spells = random.fork('absences');
    this.absences = org.members.map(() => {
      // A year's spells, in proportion to the simulated months (rounded at random).
      const perYear = ABSENCE_SPELLS[0]! + spells.int(ABSENCE_SPELLS[1]! - ABSENCE_SPELLS[0]! + 1);
      const count = Math.floor((perYear * params.months) / 12 + spells.float());
      return Array.from({ length: count }, () => {
        const start = spells.int(days);
        const workingDays = ABSENCE_DAYS[0]! + spells.int(ABSENCE_DAYS[1]! - ABSENCE_DAYS[0]! + 1);
        return [start, start + Math.ceil((workingDays * 7) / 5)] as [number, number];
      });
    });
    this.logs = org.members.map((m) => this.logsOf(m.user, true, random.fork(`folders ${m.address}`)));
    this.postmaster = this.logsOf(org.postmaster, false, random.fork('folders postmaster'));
  }

  static async start(org: Organisation, params: TraceParams, ledger: Ledger, random: SimRandom, startMs: number): Promise<MailYear> {
    const year = new MailYear(org, params, ledger, random, startMs);
    for (const logs of [...year.logs, year.postmaster]) await logs.index.append(...logs.defaultFolders);
    return year;
  }

  /** A user's logs; the folder index gets INBOX and the special folders, as ensureDefaultFolders does. */
  private logsOf(user: UnlockedUser, mail: boolean, random: SimRandom): Logs {
    const ops: FolderIndexOp[] = [];
    const ids = new Map<string, string>();
    for (const f of [{ name: INBOX }, ...DEFAULT_SPECIAL_FOLDERS]) {
      const folderId = newFolderId(random);
      ids.set(f.name, folderId);
      ops.push({ type: 'create', name: f.name, folderId, ...('specialUse' in f ? { specialUse: f.specialUse } : {}) });
      ops.push({ type: 'subscribe', name: f.name, subscribed: true });
    }
    const ref = new Uint8Array(BLOCK_REF_BYTES);
    const folder = (name: string, keyOf: (uid: number) => string) => new LogAccount(folderLogAddress(user, ids.get(name)!), user.signing, new FolderShadow(keyOf, ref), this.env);
    return {
      user,
      index: new LogAccount(folderIndexAddress(user), user.signing, new RealModelState(folderIndexModel), this.env),
      // INBOX keys are the notification's id (notificationInsertKey); Sent keys an APPEND nonce (appendInsertKey).
      inbox: mail ? folder(INBOX, (uid) => `n:${uid.toString(16).padStart(64, '0')}`) : undefined,
      sent: mail ? folder('Sent', (uid) => `a:${uid.toString(16).padStart(24, '0')}`) : undefined,
      sentMail: new LogAccount(logAddressFor(user, SENT_MAIL_LOG_NAME), user.signing, new MessagesShadow(), this.env),
      defaultFolders: ops,
    };
  }

  // ---- days ----------------------------------------------------------------------------------------

  isAway(member: number, day: number): boolean {
    return this.absences[member]!.some(([from, to]) => day >= from && day < to);
  }

  /** One day of mail, in time order; members back from an absence take their notifications first. */
  async day(day: number): Promise<void> {
    const dayStart = this.startMs + day * DAY_MS;
    this.nowMs = dayStart;
    for (const m of this.org.members) if (day > 0 && !this.isAway(m.index, day) && this.isAway(m.index, day - 1)) await this.takePending(m.index);
    const weekday = new Date(dayStart).getUTCDay();
    const factor = weekday === 0 || weekday === 6 ? WEEKEND_FACTOR : 1;
    const volumes = this.composer.dayVolumes(factor, (m) => this.isAway(m, day), this.params);
    const r = this.draws;
    const events: { atMs: number; kind: 'send' | 'inbound' | 'campaign'; member: number }[] = [];
    volumes.sends.forEach((n, member) => {
      for (let i = 0; i < n; i++) events.push({ atMs: dayStart + (8 + 10 * r.float()) * 3600_000, kind: 'send', member });
    });
    volumes.inbound.forEach((n, member) => {
      for (let i = 0; i < n; i++) events.push({ atMs: dayStart + (6 + 16 * r.float()) * 3600_000, kind: 'inbound', member });
    });
    for (let i = 0; i < volumes.campaigns; i++) events.push({ atMs: dayStart + 24 * r.float() * 3600_000, kind: 'campaign', member: -1 });
    events.sort((a, b) => a.atMs - b.atMs);
    for (const e of events) {
      this.nowMs = Math.floor(e.atMs);
      const messages = e.kind === 'send' ? [this.composer.internal(e.member, this.nowMs)] : e.kind === 'inbound' ? [this.composer.inbound(e.member, this.nowMs)] : this.composer.campaign(this.nowMs);
      for (const m of messages) await this.mail(m, day);
    }
  }

  // ---- one message ---------------------------------------------------------------------------------

  private async mail(m: TraceMessage, day: number): Promise<void> {
    this.counts.messages++;
    this.counts[m.kind === 'inbound' ? 'inbound' : m.kind === 'campaign' ? 'campaign' : 'internal']++;
    const bytes = messageBytes(m, [...m.to.map((i) => this.org.members[i]!.address), ...m.externalTo]);
    const data = messageData(m, bytes);
    const sentCopy = m.from >= 0;
    const ref = this.storeContent(data);
    this.counts.mailboxBytes += data.unique.reduce((a, b) => a + b, 0);

    if (data.submitted) {
      for (const to of m.to) {
        if (this.isAway(to, day)) this.pending[to]!.push({ message: m, bytes, ref });
        else await this.deliver(to, m, bytes);
      }
      const sender = sentCopy ? this.logs[m.from]! : this.postmaster;
      const key = `m:${blake2bHex(['sent', String(m.id)])}`;
      await this.append(sender.sentMail, { type: 'add', record: { key, direction: 'out', from: sender.user.address, to: m.to.map((i) => this.org.members[i]!.address), ref, sentAtMs: this.nowMs, recordedAtMs: this.nowMs } });
    }
    if (sentCopy) {
      const logs = this.logs[m.from]!;
      const sent = logs.sent!.keeper;
      await this.append(logs.sent!, { type: 'insert', key: sent.keyOf(sent.nextUid), ref: sent.ref, flags: ['\\Seen'], internalDateMs: this.nowMs, sizeOctets: bytes.client });
      if (m.answers) await this.append(logs.inbox!, { type: 'flags', uids: [m.answers.uid], mode: 'add', flags: [m.answers.flag] });
    }
  }

  /** The recipient's node appends the notified message to INBOX (and the user reads most of it). */
  private async deliver(to: number, m: TraceMessage, bytes: MessageBytes): Promise<void> {
    this.counts.deliveries++;
    const inbox = this.logs[to]!.inbox!;
    const shadow = inbox.keeper;
    const uid = shadow.nextUid;
    await this.append(inbox, { type: 'insert', key: shadow.keyOf(uid), ref: shadow.ref, flags: [], internalDateMs: m.atMs, sizeOctets: bytes.delivered });
    if (this.draws.chance(m.kind === 'campaign' ? BULK_READ_SHARE : READ_SHARE)) await this.append(inbox, { type: 'flags', uids: [uid], mode: 'add', flags: ['\\Seen'] });
    const received: Received = { message: m, uid };
    this.composer.remember(to, received);
  }

  private async takePending(member: number): Promise<void> {
    const waiting = this.pending[member]!;
    this.pending[member] = [];
    for (const p of waiting) await this.deliver(member, p.message, p.bytes);
  }

  private async append<Op>(log: LogAccount<Op>, op: Op): Promise<void> {
    if (await log.append(op)) this.counts.logOps++;
  }

  /** Every layout's data on the ledger; the as-built reference recipients are notified of ('' when not submitted). */
  private storeContent(data: MessageData): string {
    for (const bytes of data.unique) this.storeDatum(CONTENT.unique, bytes);
    const roots = data.asBuilt.copies.map((copy) => this.storeDatum(CONTENT.asBuilt, copy.bytes, copy.layoutOf));
    this.storeLeaves(CONTENT.asBuilt, data.asBuilt.parts, this.storedParts);
    for (const bytes of data.single.data) this.storeDatum(CONTENT.single, bytes);
    this.counts.recurringLeafHits += this.storeLeaves(CONTENT.single, data.single.leaves, this.storedLeaves);
    return data.submitted ? formatBlockRef(roots[0]!) : '';
  }

  /** Each leaf its own datum, a shared one only once (`stored`); returns how many were stored already. */
  private storeLeaves(category: (typeof CONTENT)[keyof typeof CONTENT], leaves: readonly Leaf[], stored: Set<number>): number {
    let hits = 0;
    for (const leaf of leaves) {
      if (leaf.shared && stored.has(leaf.id)) {
        hits++;
        continue;
      }
      if (leaf.shared) stored.add(leaf.id);
      this.storeDatum(category, leaf.bytes);
    }
    return hits;
  }

  /**
   * The blocks putData writes for `plainBytes` of new data, placed on the ring. Their ids are drawn
   * from the seeded source: real ids are hashes of the ciphertext, uniform on the ring alike. A mail
   * layout (one chunk) is referenced with the size of the message it lays out (`layoutOf`).
   */
  private storeDatum(category: (typeof CONTENT)[keyof typeof CONTENT], plainBytes: number, layoutOf?: number) {
    const sizes = dataBlockSizes(plainBytes);
    let rootId = '';
    for (const size of sizes) {
      rootId = Buffer.from(this.ids.bytes(32)).toString('hex');
      this.ledger.add(category, rootId, size);
    }
    const kind = layoutOf !== undefined ? ('mail' as const) : sizes.length > 1 ? ('manifest' as const) : ('chunk' as const);
    return { id: rootId, key: this.ids.bytes(32), kind, sizeBytes: layoutOf ?? plainBytes };
  }

  // ---- a month's end -------------------------------------------------------------------------------

  /** What is stored at `endMs` besides content: superseded log blocks collected, heads, waiting notifications. */
  async settle(endMs: number): Promise<void> {
    this.nowMs = endMs;
    this.env.expiring.collect(endMs, this.ledger);
    this.ledger.reset('objects');
    for (const [id, bytes] of this.org.records) this.ledger.add('objects', id, bytes);
    for (const logs of [...this.logs, this.postmaster]) {
      for (const log of [logs.index, logs.inbox, logs.sent, logs.sentMail]) {
        if (log && log.headsWritten > 0) this.ledger.add('objects', log.address.objectId, await log.headBytes());
      }
    }
    this.ledger.reset('drops');
    for (const member of this.org.members) {
      for (const p of this.pending[member.index]!) {
        const sender = p.message.from >= 0 ? this.org.members[p.message.from]!.user : this.org.postmaster;
        const body = {
          ref: p.ref,
          sizeOctets: p.bytes.delivered,
          internalDateMs: p.message.atMs,
          mailFrom: p.message.mailFrom,
          rcptTo: p.message.to.map((i) => this.org.members[i]!.address),
          authenticated: p.message.from >= 0 ? 1 : 0,
        };
        this.ledger.add('drops', member.dropId, await dropEntryBytes(sender, member.user.certificate, body, p.message.atMs, this.env.random));
      }
    }
  }

  /** Notifications waiting now, over all drops. */
  get pendingCount(): number {
    return this.pending.reduce((n, p) => n + p.length, 0);
  }
}
