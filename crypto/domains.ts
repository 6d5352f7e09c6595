// Signature domains: every signed structure has its own prefix, so a signature made for one kind of
// object can never be replayed as another (Hypercore style).
export const SignatureDomain = {
  nodeCertificate: 'node-cert',
  userCertificate: 'user-cert',
  signedObject: 'signed-object',
  notification: 'notification',
  receipt: 'receipt',
  /** A member's authorisation of a storage insert, lease refresh or object put. */
  storageInsert: 'storage-insert',
  /** A node's repair offer: the blocks it holds and their leases, for a replica to fetch. */
  storageOffer: 'storage-offer',
  /** The CA's certificate of an operator key. */
  operatorCertificate: 'operator-cert',
  /** An operator's control request to one node. */
  controlRequest: 'control-request',
  /** A user's consent to a control request made as that user. */
  controlUser: 'control-user',
  /** An overlay frame from a node that does not hold the receiver's key yet (otherwise it is MACed). */
  overlayFrame: 'overlay-frame',
} as const;

export type SignatureDomainName = (typeof SignatureDomain)[keyof typeof SignatureDomain];

// Hash domains: every hash that derives an id or a nonce from structured input starts with its own
// tag, so the same bytes hashed for two purposes never give the same value.
export const HashDomain = {
  /** Object id of a mutable signed object: H(tag || owner public key || name). */
  objectId: 'POST/v1/object-id\0',
  /** Nonce of a convergently encrypted block: BLAKE2b-192(tag || block key). */
  convergentNonce: 'POST/v1/convergent-nonce\0',
  /** Key of a user's log: BLAKE2b-256 keyed by the user's master secret over (tag || log name). */
  logKey: 'POST/v1/log-key\0',
  /** Id of a user's INBOX: the first 16 bytes of BLAKE2b-256(tag || the folder index's log key). */
  inboxFolderId: 'POST/v1/inbox-folder-id\0',
  /** UIDVALIDITY of a folder: the first 32 bits of BLAKE2b-256(tag || folder id). */
  uidValidity: 'POST/v1/uid-validity\0',
  /** An operator's id: BLAKE2b-256(tag || signing key), never equal to a node id (the bare hash). */
  operatorId: 'POST/v1/operator-id\0',
  /** The key two nodes share: BLAKE2b-256(tag || X25519(a, B) || lower key || higher key). */
  overlayChannelKey: 'POST/v1/overlay-channel-key\0',
  /** An overlay frame's MAC: BLAKE2b-256 keyed by the channel key over (tag || header || frame). */
  overlayMac: 'POST/v1/overlay-mac\0',
  /** An SMTP submission's idempotency key: BLAKE2b-256(tag || submitter || MAIL FROM || message). */
  submissionKey: 'POST/v1/smtp-submission-key\0',
  /** The INBOX insert key of a submission delivered on the recipient's own node: hex of BLAKE2b-256(tag || idempotency key || recipient || time received). */
  directDeliveryId: 'POST/v1/direct-delivery-id\0',
  /** A calendar resource's ETag: the first 16 bytes of BLAKE2b-256(tag || its iCalendar bytes), the same on every device. */
  calendarEtag: 'POST/v1/calendar-etag\0',
  /** A scheduling message's name in the recipient's schedule inbox: hex of BLAKE2b-256(tag || method || sender || UID), so a repeated invitation replaces the last. */
  scheduleInboxName: 'POST/v1/schedule-inbox-name\0',
} as const;

// Associated-data domains for random-nonce AEAD (crypto/secretbox.ts): a ciphertext made for one
// purpose never opens as another, even under the same key.
export const SealDomain = {
  /** A keystore sealed under a password-derived key; bound to the user's address. */
  keystore: 'POST/v1/keystore\0',
  /** A log head's encrypted body; bound to the log's object id. */
  logHead: 'POST/v1/log-head\0',
  /** A log entry block; bound to the log's object id. */
  logEntry: 'POST/v1/log-entry\0',
  /** One piece of a log snapshot; bound to the log, the snapshot's position and the piece's index. */
  logSnapshot: 'POST/v1/log-snapshot\0',
  /** The encrypted pointers inside a user's identity record; bound to its object id. */
  identityPointer: 'POST/v1/identity-pointer\0',
} as const;
