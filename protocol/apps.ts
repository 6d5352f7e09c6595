// What travels inside a sealed notification: which application it is for, and that application's
// body. The short-message application (`message`), mail (`mail`) and XMPP presence (`xmpp`) are built in.
import { arr, bytes, hexBytes, type Infer, obj, oneOf, opt, str, uint } from './codec';
import { CALDAV_FREEBUSY_PERIODS_MAX, CALDAV_ITIP_BYTES_MAX, DROP_ENTRY_BYTES_MAX, ID_BYTES, STANDBY_HOSTS_MAX, SUBMISSION_INLINE_BYTES_MAX } from './limits';

export const appPayloadCodec = obj({ app: str({ max: 64 }), body: bytes({ max: DROP_ENTRY_BYTES_MAX }) });
export type AppPayload = Infer<typeof appPayloadCodec>;

export const MESSAGE_APP = 'message';
export const MAIL_APP = 'mail';
/** XMPP presence between users (issue 17): subscriptions, availability and probes, signed and sealed like any notification. */
export const XMPP_APP = 'xmpp';

export const XMPP_SIGNAL_KINDS = ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'available', 'unavailable', 'probe', 'receipt', 'chatstate'] as const;
export type XmppSignalKind = (typeof XMPP_SIGNAL_KINDS)[number];
/** XEP-0085's states. */
export const CHAT_STATES = ['active', 'composing', 'paused', 'inactive', 'gone'] as const;

/**
 * XMPP message types kept with a stored message besides chat (RFC 6121 5.2.2): a message stored
 * without one is a chat (what `post message send` and every message before types were kept are).
 * groupchat is refused at the sender (no rooms yet) and error is never stored.
 */
export const XMPP_STORED_MESSAGE_TYPES = ['normal', 'headline'] as const;
export type XmppStoredMessageType = (typeof XMPP_STORED_MESSAGE_TYPES)[number];
/** One signal (presence, a delivery receipt with the message's id, a chat state); `from` must be the notification's signer. */
export const xmppSignalCodec = obj({ kind: oneOf(XMPP_SIGNAL_KINDS), from: str({ max: 320 }), sentAtMs: uint(), id: opt(str({ max: 256 })), state: opt(oneOf(CHAT_STATES)) });
export type XmppSignal = Infer<typeof xmppSignalCodec>;

/**
 * Calendar scheduling between users (issue 16, RFC 6638): an iTIP message (REQUEST, REPLY, CANCEL)
 * for the recipient's schedule inbox, or a free-busy question and its answer (busy periods only).
 */
export const CALENDAR_APP = 'calendar';
export const CALENDAR_SIGNAL_KINDS = ['itip', 'freebusy-request', 'freebusy-reply'] as const;
export const busyPeriodCodec = obj({ startMs: uint(), endMs: uint(), tentative: opt(uint({ max: 1 })) });
/** `from` must be the notification's signer; an itip's ORGANIZER (REQUEST, CANCEL) or ATTENDEE (REPLY) must be `from` too. */
export const calendarSignalCodec = obj({
  kind: oneOf(CALENDAR_SIGNAL_KINDS),
  from: str({ max: 320 }),
  sentAtMs: uint(),
  /** The iTIP message's text (itip), inline: the recipient stores it in its own ring. */
  itip: opt(str({ max: CALDAV_ITIP_BYTES_MAX })),
  /** A free-busy request's id, echoed by its answer. */
  id: opt(str({ max: 64, pattern: /^[0-9a-f]{1,64}$/ })),
  startMs: opt(uint()),
  endMs: opt(uint()),
  busy: opt(arr(busyPeriodCodec, { max: CALDAV_FREEBUSY_PERIODS_MAX })),
});
export type CalendarSignal = Infer<typeof calendarSignalCodec>;
export type BusyPeriod = Infer<typeof busyPeriodCodec>;

/** A short message: the text's reference (stored convergently by the sender), who sent it, to whom. */
export const messageBodyCodec = obj({
  ref: str({ max: 512 }),
  from: str({ max: 320 }),
  to: arr(str({ max: 320 }), { max: 1000 }),
  sentAtMs: uint(),
  /** Sent from an XMPP client (issue 17): its message id, and 1 when it asked for a delivery receipt (XEP-0184). */
  xmppId: opt(str({ max: 256 })),
  receipt: opt(uint({ max: 1 })),
  /** Its XMPP type when not chat. */
  xmppType: opt(oneOf(XMPP_STORED_MESSAGE_TYPES)),
  /** Per-conversation order (storage/messages/conversationOrder.ts): the sender's number for it, and that of its previous message to this recipient (0: none). */
  seq: opt(uint()),
  prev: opt(uint()),
});
export type MessageBody = Infer<typeof messageBodyCodec>;

/** A mail: the raw message's reference, its size, the envelope sender and recipients. */
export const mailBodyCodec = obj({
  /** The content's reference (putMail's): stored by the sender, or by the recipient from `content`. */
  ref: str({ max: 512 }),
  /** The message itself, when it travels inline (SUBMISSION_INLINE_BYTES_MAX): the recipient stores it. */
  content: opt(bytes({ max: SUBMISSION_INLINE_BYTES_MAX })),
  sizeOctets: uint(),
  internalDateMs: uint(),
  mailFrom: str({ max: 320 }),
  rcptTo: arr(str({ max: 320 }), { max: 1000 }),
  authenticated: uint({ max: 1 }),
});
export type MailBody = Infer<typeof mailBodyCodec>;

/** Credentials a node keeps for a user it hosts (sealed to the node's key). */
export const hostedUserCodec = obj({ address: str({ max: 320 }), password: str({ max: 1024 }) });

/**
 * What a standby host of a user keeps (sealed to its node key): the user's unlocked keys, never the
 * password, and the nodes it stands in for. `standbys` lists the user's standby hosts in order; a
 * standby takes over when the home and every standby listed before it are gone.
 */
export const standbyGrantCodec = obj({
  address: str({ max: 320 }),
  home: hexBytes(ID_BYTES),
  standbys: arr(hexBytes(ID_BYTES), { max: STANDBY_HOSTS_MAX, min: 1 }),
  signingSecretKey: bytes({ len: 64, max: 64 }),
  boxSecretKey: bytes({ len: 32, max: 32 }),
  masterSecret: bytes({ len: 32, max: 32 }),
});
export type StandbyGrant = Infer<typeof standbyGrantCodec>;
