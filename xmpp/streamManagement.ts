// XEP-0198 stream management, the pure part: the counters both ends keep, the stanzas sent and not
// yet acknowledged (with the conversation record each one delivers, if any), acks and resumption.
//
// Counting: `inbound` is how many stanzas from the client the server handled (what <a h/> and
// <resumed h/> report); `outbound` how many it sent since enabling; `acked` how many of those the
// client acknowledged. The queue holds stanzas acked+1 .. outbound. On the wire h is mod 2^32.
// A session kept for resumption goes on counting and queueing what it is sent while no connection
// is there; on <resume h/> the client's h acknowledges a prefix and the rest is sent again (not
// counted again: the client counts each stanza once, when it handles it).
import { XMPP_SM_RESUME_HOLD_MS } from '../protocol/limits';
import { NS } from './stanzas';
import { el, type XmlElement } from './xml';

const H_MOD = 2 ** 32;

interface Sent {
  readonly text: string;
  /** The key of the conversation record the stanza delivers (a chat message), for the delivery ledger. */
  readonly record?: string;
}

export type AckOutcome = { readonly ok: true; readonly records: readonly string[] } | { readonly ok: false };

export class StreamManagement {
  inbound = 0;
  outbound = 0;
  acked = 0;
  private readonly unacked: Sent[] = [];

  /** `id`: set when the client asked for resumption and the node can hold the session; `holdMs` then bounds the hold. */
  constructor(
    readonly id: string | undefined,
    readonly holdMs: number,
  ) {}

  /**
   * The reply to <enable/>: resumption when asked for (resume='true' or '1') and `newId` gives an id
   * (undefined: the node holds too many sessions already); the hold is the client's max if shorter.
   */
  static enable(element: XmlElement, newId: () => string | undefined): { sm: StreamManagement; reply: XmlElement } {
    const asked = ['true', '1'].includes(element.attr('resume') ?? '');
    const maxS = Number(element.attr('max'));
    const holdMs = Number.isSafeInteger(maxS) && maxS > 0 ? Math.min(maxS * 1000, XMPP_SM_RESUME_HOLD_MS) : XMPP_SM_RESUME_HOLD_MS;
    const id = asked ? newId() : undefined;
    const sm = new StreamManagement(id, holdMs);
    const reply = el('enabled', { xmlns: NS.sm, ...(id ? { id, resume: 'true', max: String(Math.floor(holdMs / 1000)) } : {}) });
    return { sm, reply };
  }

  get resumable(): boolean {
    return this.id !== undefined;
  }

  get unackedCount(): number {
    return this.unacked.length;
  }

  /** A stanza from the client was handled. */
  handled(): void {
    this.inbound++;
  }

  get h(): string {
    return String(this.inbound % H_MOD);
  }

  /** A stanza went (or, while held, would have gone) to the client. */
  sent(text: string, record?: string): void {
    this.outbound++;
    this.unacked.push(record === undefined ? { text } : { text, record });
  }

  /** The client's h: the stanzas it newly acknowledges, and the records they delivered; not ok when h counts stanzas never sent. */
  ack(hText: string | undefined): AckOutcome {
    const h = Number(hText);
    if (hText === undefined || !Number.isSafeInteger(h) || h < 0 || h >= H_MOD) return { ok: false };
    const newly = (h - (this.acked % H_MOD) + H_MOD) % H_MOD;
    if (newly > this.unacked.length) return { ok: false };
    this.acked += newly;
    const done = this.unacked.splice(0, newly);
    return { ok: true, records: done.flatMap((s) => (s.record === undefined ? [] : [s.record])) };
  }

  /** Whether h would be a valid ack (checked before a resumption takes the session over). */
  canAck(hText: string | undefined): boolean {
    const h = Number(hText);
    return hText !== undefined && Number.isSafeInteger(h) && h >= 0 && h < H_MOD && (h - (this.acked % H_MOD) + H_MOD) % H_MOD <= this.unacked.length;
  }

  /** What still waits for an ack, to send again after <resumed/>. */
  pending(): readonly string[] {
    return this.unacked.map((s) => s.text);
  }

  /** The records of the stanzas not acknowledged: handed back when the session ends without them acknowledged. */
  unackedRecords(): string[] {
    return this.unacked.flatMap((s) => (s.record === undefined ? [] : [s.record]));
  }
}

export const smAck = (sm: StreamManagement): XmlElement => el('a', { xmlns: NS.sm, h: sm.h });
export const smRequest = (): XmlElement => el('r', { xmlns: NS.sm });
export const smFailed = (condition: 'item-not-found' | 'unexpected-request' | 'undefined-condition', h?: string): XmlElement =>
  el('failed', { xmlns: NS.sm, ...(h !== undefined ? { h } : {}) }, el(condition, { xmlns: NS.stanzas }));
export const smResumed = (sm: StreamManagement): XmlElement => el('resumed', { xmlns: NS.sm, previd: sm.id, h: sm.h });
