// Signature domains: every signed structure has its own prefix, so a signature made for one kind of
// object can never be replayed as another (Hypercore style).
export const SignatureDomain = {
  nodeCertificate: 'node-cert',
  userCertificate: 'user-cert',
  signedObject: 'signed-object',
  notification: 'notification',
  receipt: 'receipt',
} as const;

export type SignatureDomainName = (typeof SignatureDomain)[keyof typeof SignatureDomain];

// Hash domains: every hash that derives an id or a nonce from structured input starts with its own
// tag, so the same bytes hashed for two purposes never give the same value.
export const HashDomain = {
  /** Object id of a mutable signed object: H(tag || owner public key || name). */
  objectId: 'POST/v1/object-id\0',
  /** Nonce of a convergently encrypted block: BLAKE2b-192(tag || block key). */
  convergentNonce: 'POST/v1/convergent-nonce\0',
} as const;
