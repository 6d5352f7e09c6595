// The organisation and its mail, as parameters. Volumes are per user and working day; a weekend day
// carries WEEKEND_FACTOR of a working day's mail. Sizes are bytes on the wire (MIME, base64 included).
// Sources for the orders of magnitude: business mailboxes receive tens of messages a day and send
// about a third as many; a fifth of messages carry attachments, whose sizes are heavy-tailed (a median
// around 50-100 KB, a tail to the usual 20-25 MB limit); text bodies are a few hundred bytes to a few KB,
// HTML doubles or triples them, and replies quote what they answer.
export interface TraceParams {
  readonly users: number;
  readonly months: number;
  /** The smaller ring printed for comparison (the same organisation's mail on fewer machines). */
  readonly smallRing: number;
  readonly sentPerDay: number;
  readonly inboundPerDay: number;
  /** External bulk campaigns (newsletters, notifications) per working day, per 100 users. */
  readonly campaignsPerDayPer100: number;
  /** Spread (sigma of the log) of users' activity: a few users send and receive far more. */
  readonly activitySigma: number;
}

export const FULL: TraceParams = {
  users: 250,
  months: 12,
  smallRing: 50,
  sentPerDay: 10,
  inboundPerDay: 14,
  campaignsPerDayPer100: 3,
  activitySigma: 0.7,
};

export const QUICK: TraceParams = { ...FULL, users: 40, months: 3, smallRing: 15 };

export const WEEKEND_FACTOR = 0.1;
/** Share of users who compose HTML (multipart/alternative: a text part and an HTML part). */
export const HTML_COMPOSERS = 0.75;
/** Users whose HTML signature carries the organisation's logo inline; and a logo of their own. */
export const ORG_LOGO_USERS = 0.2;
export const OWN_LOGO_USERS = 0.1;

/** An internal message: a reply, a forward or a new one. */
export const REPLY_SHARE = 0.35;
export const REPLY_ALL_SHARE = 0.3;
export const FORWARD_SHARE = 0.05;
/** New messages to a mailing list of the organisation; to outside addresses only; to both. */
export const LIST_SHARE = 0.04;
export const EXTERNAL_ONLY_SHARE = 0.3;
export const EXTERNAL_TOO_SHARE = 0.1;
/** Direct recipients of a new message: 1, 2-3, 4-8, 9-25 with these weights. */
export const RECIPIENT_WEIGHTS = [0.55, 0.25, 0.15, 0.05];

export const ATTACHMENT_SHARE = 0.18;
/** Of attachments, the share that is one of the organisation's circulating documents (re-sent). */
export const CIRCULATING_DOCUMENT_SHARE = 0.15;
/** Raw attachment size (before base64): median and sigma of the log, cap. */
export const ATTACHMENT_MEDIAN = 50_000;
export const ATTACHMENT_SIGMA = 1.5;
export const ATTACHMENT_MAX = 20_000_000;

/** New text of a message: median and sigma; replies quote what they answer, up to a cap. */
export const TEXT_MEDIAN = 500;
export const TEXT_SIGMA = 1.0;
export const QUOTED_MAX = 100_000;

/** Inbound (from outside, through the MX): share with several internal recipients, with attachments. */
export const INBOUND_MULTI_SHARE = 0.15;
export const INBOUND_ATTACHMENT_SHARE = 0.2;
/** Campaigns: recipients (log-normal median), inline images they share (share of campaigns, count). */
export const CAMPAIGN_RECIPIENTS_MEDIAN = 8;
export const CAMPAIGN_INLINE_IMAGES_SHARE = 0.3;

/** Chance a delivered message is read (a \Seen flag); bulk mail is read less. */
export const READ_SHARE = 0.85;
export const BULK_READ_SHARE = 0.4;

/** Absences (the user's machine is off; notifications wait in the drop): spells per year, working days each. */
export const ABSENCE_SPELLS = [1, 3];
export const ABSENCE_DAYS = [3, 10];
