// Wire forms of certificates. Their signatures are made and checked in crypto/certificates.ts.
import { bytes, hexBytes, type Infer, obj, str, tagged, uint } from './codec';
import { FIELD_CHARS_MAX, ID_BYTES } from './limits';

export const nodeCertificateCodec = obj({
  org: str({ max: FIELD_CHARS_MAX }),
  ringId: hexBytes(ID_BYTES),
  nodeId: hexBytes(ID_BYTES),
  signingKey: bytes({ max: 32, len: 32 }),
  issuedAtMs: uint(),
  expiresAtMs: uint(),
  signature: bytes({ max: 64, len: 64 }),
});

export type NodeCertificate = Infer<typeof nodeCertificateCodec>;

/** A user: an address with signing and box keys, certified by the organisation's CA. */
export const userCertificateCodec = obj({
  address: str({ max: 320 }),
  org: str({ max: FIELD_CHARS_MAX }),
  ringId: hexBytes(ID_BYTES),
  /** BLAKE2b-256("user" || address): where the identity record lives, and the inbox subject's token. */
  userId: hexBytes(ID_BYTES),
  signingKey: bytes({ max: 32, len: 32 }),
  boxKey: bytes({ max: 32, len: 32 }),
  issuedAtMs: uint(),
  expiresAtMs: uint(),
  signature: bytes({ max: 64, len: 64 }),
});

export type UserCertificate = Infer<typeof userCertificateCodec>;

/** A certified member of a ring acting on its own behalf: a node or a user. */
export const memberCertificateCodec = tagged({
  node: obj({ cert: nodeCertificateCodec }),
  user: obj({ cert: userCertificateCodec }),
});

export type MemberCertificate = Infer<typeof memberCertificateCodec>;
