// The mail trace, composed message by message from seeded draws and from what each user has received
// (replies quote what they answer, forwards carry the original's attachments). A message is its sizes
// on the wire: top-level headers, MIME structure (part headers, boundaries), and leaf bodies; a leaf
// that can recur byte for byte (an attachment forwarded or re-sent, an inline logo, a newsletter's
// images) keeps its identity, which is what lets single-copy storage converge on it.
import type { SimRandom } from '../../infra/sim/random';
import { logNormal, poisson, sample, weighted, zipf } from './draws';
import type { Organisation } from './organisation';
import * as P from './params';

export interface Leaf {
  /** Content identity: two leaves with the same id are the same bytes. */
  readonly id: number;
  readonly bytes: number;
  /** May recur in other messages (attachments, inline images): single-copy checks whether it is stored. */
  readonly shared: boolean;
}

export type MessageKind = 'new' | 'list' | 'reply' | 'forward' | 'inbound' | 'campaign';

export interface TraceMessage {
  readonly id: number;
  readonly atMs: number;
  readonly kind: MessageKind;
  /** The sending member, or -1 for mail from outside (stored and notified by the MX as the postmaster). */
  readonly from: number;
  readonly mailFrom: string;
  /** POST recipients (member indices, distinct, never the sender). */
  readonly to: readonly number[];
  /** Recipients outside the organisation (relayed by the smarthost; not stored for them). */
  readonly externalTo: readonly string[];
  readonly headerBytes: number;
  readonly structureBytes: number;
  readonly leaves: readonly Leaf[];
  readonly textBytes: number;
  readonly attachments: readonly Leaf[];
  readonly depth: number;
  /** The received message this one answers or forwards (its uid in the sender's INBOX) and the flag it gets. */
  readonly answers?: { readonly uid: number; readonly flag: string };
}

/** A message as one of its recipients holds it: what a reply or a forward starts from. */
export interface Received {
  readonly message: TraceMessage;
  readonly uid: number;
}

/** Bytes of a base64 body (76-character lines) for `raw` bytes. */
export const base64Bytes = (raw: number): number => {
  const chars = 4 * Math.ceil(raw / 3);
  return chars + 2 * Math.ceil(chars / 76);
};

const TEXT_PART_HEADER = 95; // Content-Type with charset, Content-Transfer-Encoding, blank line
const ATTACHMENT_PART_HEADER = 230; // plus name, disposition with filename
const MULTIPART_OVERHEAD = 90 + 46; // Content-Type with boundary; closing delimiter
const BOUNDARY_LINE = 44; // "--" + 40-char boundary + CRLF, before each child
const ADDRESS_IN_HEADER = 40; // "Name Surname <user@domain>, "
const REFERENCE_IN_HEADER = 64; // a Message-ID in References / In-Reply-To
const INTERNAL_HEADERS = 650; // From, Date, Message-ID, Subject, MIME-Version, User-Agent, ...
/** Documents still circulating: older ones are no longer sent. */
const CIRCULATING_DOCUMENTS_MAX = 500;

export class TraceComposer {
  private nextMessage = 1;
  private nextLeaf = 1;
  private readonly documents: Leaf[] = [];
  private readonly orgLogo: Leaf;
  private readonly ownLogos = new Map<number, Leaf>();
  /** Recently received messages per member (newest last), bounded. */
  private readonly recent: Received[][];

  constructor(
    private readonly org: Organisation,
    private readonly r: SimRandom,
  ) {
    this.orgLogo = this.leaf(base64Bytes(9_000), true);
    this.recent = org.members.map(() => []);
  }

  remember(member: number, received: Received): void {
    const list = this.recent[member]!;
    list.push(received);
    if (list.length > 64) list.shift();
  }

  /** A message `from` writes now: a reply, a forward or a new one (to people, a list or outside). */
  internal(from: number, atMs: number): TraceMessage {
    const recent = this.recent[from]!;
    const draw = this.r.float();
    if (recent.length > 0 && draw < P.REPLY_SHARE) return this.reply(from, atMs, this.r.pick(recent));
    if (recent.length > 0 && draw < P.REPLY_SHARE + P.FORWARD_SHARE) {
      const withFiles = recent.filter((x) => x.message.attachments.length > 0);
      return this.forward(from, atMs, withFiles.length > 0 && this.r.chance(0.7) ? this.r.pick(withFiles) : this.r.pick(recent));
    }
    return this.fresh(from, atMs);
  }

  /** Personal mail from outside to one member (sometimes with colleagues of the same team). */
  inbound(to: number, atMs: number): TraceMessage {
    const r = this.r;
    const recipients = [to];
    if (r.chance(P.INBOUND_MULTI_SHARE)) recipients.push(...sample(r, this.org.members[to]!.circle.slice(0, 14), 1 + r.int(3)));
    const text = logNormal(r, 1500, 1.0, 50, 200_000);
    const leaves = [this.leaf(text, false)];
    if (r.chance(0.8)) leaves.push(this.leaf(3 * text + 3000, false));
    const attachments = r.chance(P.INBOUND_ATTACHMENT_SHARE) ? this.freshAttachments() : [];
    return this.message({
      atMs, kind: 'inbound', from: -1, mailFrom: `someone${r.int(5000)}@partner${r.int(300)}.example`, to: recipients, externalTo: [],
      headerBytes: logNormal(r, 4500, 0.4, 1500, 30_000), leaves: [...leaves, ...attachments], textBytes: text, attachments, depth: 0,
    });
  }

  /** A newsletter or notification campaign: one message per recipient (tracking makes bodies unique), shared inline images. */
  campaign(atMs: number): TraceMessage[] {
    const r = this.r;
    const count = Math.min(this.org.members.length, logNormal(r, P.CAMPAIGN_RECIPIENTS_MEDIAN, 1.0, 1));
    const images = r.chance(P.CAMPAIGN_INLINE_IMAGES_SHARE) ? Array.from({ length: 2 + r.int(5) }, () => this.leaf(base64Bytes(logNormal(r, 25_000, 0.8, 1000, 500_000)), true)) : [];
    const sender = `news@vendor${r.int(400)}.example`;
    const html = logNormal(r, 30_000, 0.7, 2000, 400_000);
    const text = logNormal(r, 3000, 0.5, 200, 50_000);
    return sample(r, this.org.members.map((m) => m.index), count).map((to) =>
      this.message({
        atMs, kind: 'campaign', from: -1, mailFrom: sender, to: [to], externalTo: [], headerBytes: logNormal(r, 6000, 0.3, 2000, 20_000),
        leaves: [this.leaf(text, false), this.leaf(html, false), ...images], textBytes: text, attachments: [], depth: 0,
      }),
    );
  }

  /** Campaigns and each member's inbound and outgoing counts for one day. */
  dayVolumes(factor: number, away: (member: number) => boolean, params: P.TraceParams) {
    const r = this.r;
    return {
      sends: this.org.members.map((m) => (away(m.index) ? 0 : poisson(r, params.sentPerDay * m.sendActivity * factor))),
      inbound: this.org.members.map((m) => poisson(r, params.inboundPerDay * m.inboundActivity * factor)),
      campaigns: poisson(r, (params.campaignsPerDayPer100 * params.users * factor) / 100),
    };
  }

  private reply(from: number, atMs: number, original: Received): TraceMessage {
    const r = this.r;
    const o = original.message;
    const to = new Set<number>();
    const externalTo: string[] = [];
    if (o.from >= 0) to.add(o.from);
    else externalTo.push(o.mailFrom);
    if (r.chance(P.REPLY_ALL_SHARE) && o.kind !== 'list' && o.kind !== 'campaign') {
      for (const x of o.to) to.add(x);
      externalTo.push(...o.externalTo);
    }
    to.delete(from);
    const text = logNormal(r, P.TEXT_MEDIAN, P.TEXT_SIGMA, 20, 50_000) + Math.min(P.QUOTED_MAX, Math.round(o.textBytes * 1.04));
    return this.compose(from, atMs, 'reply', [...to], externalTo, text, [], o.depth + 1, { uid: original.uid, flag: '\\Answered' });
  }

  private forward(from: number, atMs: number, original: Received): TraceMessage {
    const r = this.r;
    const o = original.message;
    const member = this.org.members[from]!;
    const internal = r.chance(0.7);
    const to = internal ? sample(r, member.circle, 1 + r.int(3)) : [];
    const externalTo = internal ? [] : [this.externalAddress()];
    const text = logNormal(r, P.TEXT_MEDIAN, P.TEXT_SIGMA, 20, 50_000) + Math.min(P.QUOTED_MAX, o.textBytes);
    return this.compose(from, atMs, 'forward', to, externalTo, text, o.attachments, 0, { uid: original.uid, flag: '$Forwarded' });
  }

  private fresh(from: number, atMs: number): TraceMessage {
    const r = this.r;
    const member = this.org.members[from]!;
    const text = logNormal(r, P.TEXT_MEDIAN, P.TEXT_SIGMA, 20, 50_000);
    const attachments = r.chance(P.ATTACHMENT_SHARE) ? this.freshAttachments() : [];
    if (r.chance(P.LIST_SHARE)) {
      const lists = this.org.lists.filter((l) => l.members.includes(from));
      const list = lists[weighted(r, lists.map((l) => (l.members.length === this.org.members.length ? 0.1 : 1)))]!;
      return this.compose(from, atMs, 'list', list.members.filter((x) => x !== from), [], text, attachments, 0, undefined, 1);
    }
    const draw = r.float();
    if (draw < P.EXTERNAL_ONLY_SHARE) return this.compose(from, atMs, 'new', [], Array.from({ length: 1 + weighted(r, [0.7, 0.2, 0.1]) }, () => this.externalAddress()), text, attachments, 0);
    const count = [1, 2 + r.int(2), 4 + r.int(5), 9 + r.int(17)][weighted(r, P.RECIPIENT_WEIGHTS)]!;
    const to = new Set<number>();
    for (let tries = 0; to.size < count && tries < count * 4; tries++) to.add(r.chance(0.8) ? r.pick(member.circle) : r.int(this.org.members.length));
    to.delete(from);
    const externalTo = draw < P.EXTERNAL_ONLY_SHARE + P.EXTERNAL_TOO_SHARE ? [this.externalAddress()] : [];
    return this.compose(from, atMs, 'new', [...to], externalTo, text, attachments, 0);
  }

  /** A message written by a member: text (and HTML, with the signature's logo), then attachments. */
  private compose(from: number, atMs: number, kind: MessageKind, to: number[], externalTo: string[], text: number, attachments: readonly Leaf[], depth: number, answers?: TraceMessage['answers'], listedAddresses?: number): TraceMessage {
    const member = this.org.members[from]!;
    const leaves: Leaf[] = [this.leaf(text, false)];
    if (member.html) {
      leaves.push(this.leaf(Math.round(2.5 * text) + 1200, false));
      if (member.logo === 'org') leaves.push(this.orgLogo);
      if (member.logo === 'own') leaves.push(this.ownLogo(from));
    }
    leaves.push(...attachments);
    const addresses = listedAddresses ?? to.length + externalTo.length;
    const headerBytes = INTERNAL_HEADERS + ADDRESS_IN_HEADER * addresses + REFERENCE_IN_HEADER * Math.min(depth, 20);
    return this.message({ atMs, kind, from, mailFrom: member.address, to, externalTo, headerBytes, leaves, textBytes: text, attachments, depth, ...(answers ? { answers } : {}) });
  }

  private message(m: Omit<TraceMessage, 'id' | 'structureBytes'>): TraceMessage {
    const attachments = new Set(m.attachments);
    const partHeaders = m.leaves.reduce((n, l) => n + (attachments.has(l) || l.shared ? ATTACHMENT_PART_HEADER : TEXT_PART_HEADER), 0);
    // Nesting: alternative (text + HTML), related (HTML + inline images), mixed (attachments).
    const bodies = m.leaves.filter((l) => !l.shared).length;
    const inline = m.leaves.filter((l) => l.shared && !attachments.has(l)).length;
    const multiparts = (bodies > 1 ? 1 : 0) + (inline > 0 ? 1 : 0) + (attachments.size > 0 ? 1 : 0);
    const children = multiparts === 0 ? 0 : m.leaves.length + multiparts - 1;
    return { ...m, id: this.nextMessage++, structureBytes: partHeaders + multiparts * MULTIPART_OVERHEAD + children * BOUNDARY_LINE };
  }

  private freshAttachments(): Leaf[] {
    const r = this.r;
    const count = [1, 2, 3 + r.int(4)][weighted(r, [0.7, 0.2, 0.1])]!;
    return Array.from({ length: count }, () => (r.chance(P.CIRCULATING_DOCUMENT_SHARE) ? this.circulatingDocument() : this.leaf(base64Bytes(logNormal(r, P.ATTACHMENT_MEDIAN, P.ATTACHMENT_SIGMA, 500, P.ATTACHMENT_MAX)), true)));
  }

  /** The organisation's documents in circulation (templates, policies, slides): the newest are sent most. */
  private circulatingDocument(): Leaf {
    const r = this.r;
    if (this.documents.length === 0 || r.chance(0.2)) this.documents.push(this.leaf(base64Bytes(logNormal(r, 2 * P.ATTACHMENT_MEDIAN, P.ATTACHMENT_SIGMA, 2000, P.ATTACHMENT_MAX)), true));
    if (this.documents.length > CIRCULATING_DOCUMENTS_MAX) this.documents.shift();
    return this.documents[this.documents.length - 1 - zipf(r, this.documents.length)]!;
  }

  private ownLogo(member: number): Leaf {
    let logo = this.ownLogos.get(member);
    if (!logo) this.ownLogos.set(member, (logo = this.leaf(base64Bytes(logNormal(this.r, 12_000, 0.6, 2000, 100_000)), true)));
    return logo;
  }

  private externalAddress(): string {
    return `contact${this.r.int(20_000)}@partner${this.r.int(300)}.example`;
  }

  private leaf(bytes: number, shared: boolean): Leaf {
    return { id: this.nextLeaf++, bytes, shared };
  }
}
