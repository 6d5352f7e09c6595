// Wire forms of certificates. Their signatures are made and checked in crypto/certificates.ts.
import { bytes, hexBytes, type Infer, obj, str, uint } from './codec';
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
