// Control requests (issue 12): an operator signs each request for one node, with a time and a nonce;
// a request made as a user is also signed by that user. Both signatures cover the same fixed fields,
// under their own domains, so neither can stand in for the other:
//
//   operator: "control-request" over [ringId, nodeId, timeMs, nonce, BLAKE2b(request)]
//   user:     "control-user"    over [ringId, nodeId, timeMs, nonce, BLAKE2b(request), operatorId]
//
// Synchronous (sodium-native): one signature per request, and the node checks it before anything else.
import type { OperatorCertificate } from '../protocol/identity';
import { SignatureDomain } from './domains';
import { blake2b } from './hash';
import { signSync, verifySync } from './sign';

/** What the `post` command holds to sign control requests: the certificate and its secret key. */
export interface OperatorSigner {
  readonly cert: OperatorCertificate;
  readonly secretKey: Uint8Array;
}

/** The signed fields of one control request. */
export interface ControlFields {
  readonly ringId: string;
  readonly nodeId: string;
  readonly timeMs: number;
  readonly nonce: Uint8Array;
  /** The encoded inner control frame. */
  readonly request: Uint8Array;
}

const operatorSigned = (f: ControlFields) => [Buffer.from(f.ringId, 'hex'), Buffer.from(f.nodeId, 'hex'), f.timeMs, f.nonce, blake2b(f.request)];
const userSigned = (f: ControlFields, operatorId: string) => [...operatorSigned(f), Buffer.from(operatorId, 'hex')];

/** The operator's signature and, for a request made as a user, the user's (its Ed25519 secret key). */
export function signControl(f: ControlFields, operator: OperatorSigner, userSecretKey?: Uint8Array): { signature: Uint8Array; userSignature?: Uint8Array } {
  const signature = signSync(SignatureDomain.controlRequest, operatorSigned(f), operator.secretKey);
  if (!userSecretKey) return { signature };
  return { signature, userSignature: signSync(SignatureDomain.controlUser, userSigned(f, operator.cert.operatorId), userSecretKey) };
}

export const verifyControlSignature = (f: ControlFields, signature: Uint8Array, operatorKey: Uint8Array): boolean =>
  verifySync(SignatureDomain.controlRequest, operatorSigned(f), signature, operatorKey);

export const verifyControlUser = (f: ControlFields, operatorId: string, signature: Uint8Array, userKey: Uint8Array): boolean =>
  verifySync(SignatureDomain.controlUser, userSigned(f, operatorId), signature, userKey);
