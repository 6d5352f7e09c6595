// What a client that is the only one using its mailbox knows for certain, and the checks that
// follow: every reply of the server must agree with it. A wrong FLAGS, a message lost or appearing
// from nowhere, an EXPUNGE of a message that was not \Deleted (or one that stays), a UID that
// changes under a sequence number, a FETCH that returns another message's body: each is an error.
// No I/O here: the mixed workload feeds it the replies it received; the unit tests feed it made-up ones.
import { fetchResponses, flagsOf, numberedResponses, unitLine, untaggedCode, type FetchResponse, type ImapReply, type ImapValue, type ResponseUnit } from './rawImap';

export interface ModelMessage {
  uid: number;
  /** System flags and keywords, \Recent excluded. */
  flags: Set<string>;
  /** The message's size and Message-ID, when the client knows them (it appended the message). */
  size: number;
  messageId: string;
}

const sortedFlags = (flags: Iterable<string>) => [...flags].sort();

export class MailboxModel {
  /** Messages the session has been told about, in sequence-number order. */
  view: ModelMessage[] = [];
  /** Appended, not yet announced to the session by an EXISTS. */
  pending: ModelMessage[] = [];
  uidValidity: number | undefined;
  /** Every UID the server gave so far is at most this; new ones must be above it. */
  highestUid = 0;
  /** What went wrong, in order. */
  readonly errors: string[] = [];

  private error(text: string): void {
    this.errors.push(text);
  }

  byUid(uid: number): ModelMessage | undefined {
    return this.view.find((m) => m.uid === uid);
  }

  /**
   * Applies a reply's untagged responses in order: EXISTS announces pending messages, EXPUNGE
   * removes one (only where the command allows it), FETCH must agree on UID and FLAGS.
   * Returns the FETCH responses and the messages expunged.
   */
  applyUntagged(command: string, units: readonly ResponseUnit[], allowExpunge: boolean): { fetched: FetchResponse[]; expunged: ModelMessage[] } {
    const fetched: FetchResponse[] = [];
    const expunged: ModelMessage[] = [];
    for (const unit of units) {
      const line = unitLine(unit);
      const numbered = /^\* (\d+) (EXISTS|EXPUNGE|FETCH)\b/i.exec(line);
      if (/^\* VANISHED\b/i.test(line)) this.error(`${command}: VANISHED without QRESYNC enabled`);
      if (!numbered) continue;
      const n = Number(numbered[1]);
      const kind = numbered[2]!.toUpperCase();
      if (kind === 'EXISTS') {
        if (n < this.view.length) {
          this.error(`${command}: ${n} EXISTS, below the ${this.view.length} messages already announced`);
          continue;
        }
        const fresh = n - this.view.length;
        if (fresh > this.pending.length) this.error(`${command}: ${n} EXISTS announces ${fresh} new messages; only ${this.pending.length} were appended (a message from nowhere, or one not expunged)`);
        this.view.push(...this.pending.splice(0, Math.min(fresh, this.pending.length)));
      } else if (kind === 'EXPUNGE') {
        if (!allowExpunge) this.error(`${command}: EXPUNGE ${n} sent during a command that must not expunge`);
        if (n < 1 || n > this.view.length) {
          this.error(`${command}: EXPUNGE ${n} out of range (1..${this.view.length})`);
          continue;
        }
        expunged.push(...this.view.splice(n - 1, 1));
      } else {
        const [response] = fetchResponses([unit]);
        if (!response) continue;
        fetched.push(response);
        this.checkFetch(command, response);
      }
    }
    return { fetched, expunged };
  }

  private checkFetch(command: string, response: FetchResponse): void {
    const message = this.view[response.seq - 1];
    if (!message) return this.error(`${command}: FETCH for sequence number ${response.seq}, beyond the ${this.view.length} messages`);
    const uid = response.items.UID;
    if (uid !== undefined && Number(uid) !== message.uid) this.error(`${command}: sequence number ${response.seq} has UID ${String(uid)}, expected ${message.uid} (a UID changed or a message moved)`);
    const flags = flagsOf(response.items.FLAGS);
    if (response.items.FLAGS !== undefined && flags === undefined) this.error(`${command}: FLAGS of UID ${message.uid} is not a list`);
    if (flags && flags.join(' ') !== sortedFlags(message.flags).join(' ')) this.error(`${command}: UID ${message.uid} has FLAGS (${flags.join(' ')}), expected (${sortedFlags(message.flags).join(' ')})`);
  }

  /** SELECT's answer: every message appended is there, UIDVALIDITY holds, UIDNEXT is past every UID. */
  applySelect(reply: ImapReply): void {
    const known = [...this.view, ...this.pending].sort((a, b) => a.uid - b.uid);
    this.view = known;
    this.pending = [];
    const exists = numberedResponses(reply.untagged, 'EXISTS').at(-1);
    if (exists !== known.length) this.error(`SELECT: ${exists ?? 'no'} EXISTS, the mailbox holds ${known.length} (a message lost or from nowhere)`);
    const uidValidity = untaggedCode(reply.untagged, 'UIDVALIDITY');
    if (uidValidity === undefined) this.error('SELECT: no UIDVALIDITY');
    else if (this.uidValidity === undefined) this.uidValidity = uidValidity;
    else if (uidValidity !== this.uidValidity) this.error(`SELECT: UIDVALIDITY changed from ${this.uidValidity} to ${uidValidity}`);
    const uidNext = untaggedCode(reply.untagged, 'UIDNEXT');
    if (uidNext !== undefined && uidNext <= this.highestUid) this.error(`SELECT: UIDNEXT ${uidNext} is not above UID ${this.highestUid}, which exists or existed`);
  }

  /** FETCH 1:*: one response per message, in order (checked for UID and FLAGS as they were applied). */
  checkFetchAll(fetched: readonly FetchResponse[]): void {
    const seqs = fetched.map((f) => f.seq);
    const expected = this.view.map((_, i) => i + 1);
    if (seqs.join() !== expected.join()) this.error(`FETCH 1:*: ${fetched.length} messages answered, the session knows ${this.view.length}`);
  }

  /** FETCH of a range with ENVELOPE: each message is the one appended under that UID (its Message-ID). */
  checkEnvelopes(fetched: readonly FetchResponse[], from: number, to: number): void {
    if (fetched.length !== to - from + 1) this.error(`FETCH ${from}:${to}: ${fetched.length} messages answered, expected ${to - from + 1}`);
    for (const f of fetched) {
      const message = this.view[f.seq - 1];
      const envelope = f.items.ENVELOPE;
      const messageId = Array.isArray(envelope) ? envelope[9] : undefined;
      if (!message || !message.messageId) continue;
      if (typeof messageId !== 'string' && !Buffer.isBuffer(messageId)) this.error(`FETCH ${from}:${to}: no ENVELOPE for UID ${message.uid}`);
      else if (messageId.toString() !== message.messageId) this.error(`FETCH ${from}:${to}: UID ${message.uid} has Message-ID ${messageId.toString()}, expected ${message.messageId}`);
    }
  }

  /** UID FETCH uid BODY.PEEK[]: the very bytes appended (size and Message-ID). */
  checkBody(fetched: readonly FetchResponse[], message: ModelMessage): void {
    const response = fetched.find((f) => Number(f.items.UID) === message.uid);
    const body: ImapValue | undefined = response?.items['BODY[]'];
    if (!Buffer.isBuffer(body) && typeof body !== 'string') return this.error(`UID FETCH ${message.uid} BODY.PEEK[]: no body returned`);
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
    if (message.size >= 0 && bytes.length !== message.size) this.error(`UID FETCH ${message.uid} BODY.PEEK[]: ${bytes.length} bytes, ${message.size} were appended`);
    if (message.messageId && !bytes.includes(`Message-ID: ${message.messageId}`)) this.error(`UID FETCH ${message.uid} BODY.PEEK[]: the body is not the message appended under that UID`);
  }

  /** After the STORE's untagged responses: the server reported the message's new FLAGS. */
  checkStored(fetched: readonly FetchResponse[], message: ModelMessage): void {
    if (!fetched.some((f) => this.view[f.seq - 1] === message && f.items.FLAGS !== undefined)) this.error(`STORE UID ${message.uid}: the answer did not report the new FLAGS`);
  }

  /** After an EXPUNGE: exactly the \Deleted messages went. */
  checkExpunged(deleted: readonly ModelMessage[], expunged: readonly ModelMessage[]): void {
    const gone = new Set(expunged);
    for (const m of expunged) if (!deleted.includes(m)) this.error(`EXPUNGE removed UID ${m.uid}, which was not \\Deleted`);
    for (const m of deleted) if (!gone.has(m)) this.error(`EXPUNGE left UID ${m.uid}, which was \\Deleted`);
  }

  /** APPEND's [APPENDUID v u]: same UIDVALIDITY, a UID above every other; the message is pending. */
  applyAppend(reply: ImapReply, message: Omit<ModelMessage, 'uid'>): void {
    const match = /^APPENDUID (\d+) (\d+)$/i.exec(reply.code);
    if (!match) return this.error(`APPEND: no APPENDUID in the answer (${reply.code || 'no code'})`);
    const [uidValidity, uid] = [Number(match[1]), Number(match[2])];
    if (this.uidValidity !== undefined && uidValidity !== this.uidValidity) this.error(`APPEND: APPENDUID has UIDVALIDITY ${uidValidity}, the mailbox has ${this.uidValidity}`);
    if (uid <= this.highestUid) this.error(`APPEND: new UID ${uid} is not above UID ${this.highestUid}, which exists or existed`);
    this.highestUid = Math.max(this.highestUid, uid);
    this.pending.push({ ...message, uid });
  }

  /** Starts over from the server's word (after an error): what it says now is what later replies must agree with. */
  resync(fetched: readonly FetchResponse[], known: ReadonlyMap<string, { size: number }>): void {
    this.pending = [];
    this.view = fetched.map((f) => {
      const envelope = f.items.ENVELOPE;
      const messageId = Array.isArray(envelope) && envelope[9] ? envelope[9].toString() : '';
      const uid = Number(f.items.UID);
      this.highestUid = Math.max(this.highestUid, uid);
      return { uid, flags: new Set(flagsOf(f.items.FLAGS) ?? []), size: known.get(messageId)?.size ?? -1, messageId: known.has(messageId) ? messageId : '' };
    });
  }
}
