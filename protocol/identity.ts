// Wire forms of certificates. Their signatures are made and checked in crypto/certificates.ts.
import { arr, bytes, hexBytes, type Infer, obj, oneOf, str, tagged, uint } from './codec';
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

/**
 * What an operator may do beyond looking (status, route probes, block where, audit), which any
 * certified operator may: `store` moves data in and out of the ring (charged to the operator's quota)
 * and reads or writes signed objects; `admin` hosts users on a node, makes hosted users pull, and
 * injects actor crashes. Requests made as a user need that user's own proof besides (protocol/control.ts).
 */
export const OPERATOR_ROLES = ['store', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** An operator's key, certified by the organisation's CA: what signs the `post` command's control requests. */
export const operatorCertificateCodec = obj({
  /** A label for logs ("lab", "alice-laptop"). */
  name: str({ max: 64 }),
  org: str({ max: FIELD_CHARS_MAX }),
  ringId: hexBytes(ID_BYTES),
  /** BLAKE2b-256 of a tag and the key: what the operator's storage is charged to, never a node's or a user's id. */
  operatorId: hexBytes(ID_BYTES),
  roles: arr(oneOf(OPERATOR_ROLES), { max: OPERATOR_ROLES.length }),
  signingKey: bytes({ max: 32, len: 32 }),
  issuedAtMs: uint(),
  expiresAtMs: uint(),
  signature: bytes({ max: 64, len: 64 }),
});

export type OperatorCertificate = Infer<typeof operatorCertificateCodec>;
