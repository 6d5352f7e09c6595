// What travels inside a sealed notification: which application it is for, and that application's
// body. The short-message application (`message`) and mail (`mail`) are the two built in.
import { arr, bytes, hexBytes, type Infer, obj, opt, str, uint } from './codec';
import { DROP_ENTRY_BYTES_MAX, ID_BYTES, STANDBY_HOSTS_MAX, SUBMISSION_INLINE_BYTES_MAX } from './limits';

export const appPayloadCodec = obj({ app: str({ max: 64 }), body: bytes({ max: DROP_ENTRY_BYTES_MAX }) });
export type AppPayload = Infer<typeof appPayloadCodec>;

export const MESSAGE_APP = 'message';
export const MAIL_APP = 'mail';

/** A short message: the text's reference (stored convergently by the sender), who sent it, to whom. */
export const messageBodyCodec = obj({ ref: str({ max: 512 }), from: str({ max: 320 }), to: arr(str({ max: 320 }), { max: 1000 }), sentAtMs: uint() });
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
