// Mutable signed objects (log heads, identity records): single-writer values at an id derived from
// the owner's key and a name. Each version carries a sequence number and the hash of the version it
// replaces, and is signed by the owner over a fixed field layout, so replicas can check every put
// without trusting the writer or each other (what the original never did: DESIGN 9).
//
//   objectId = BLAKE2b-256(HashDomain.objectId || owner public key (32 bytes) || UTF-8 name)
//   signed   = "POST/v1/signed-object\0" || canonical msgpack [objectId, owner, name, seq, prev, payload]
//   hash     = BLAKE2b-256(signed)          (`prev` of the next version)
//
// A version decoded from its bytes (protocol/objects.ts parseSignedObject: every version a replica
// receives or reads from disk, and every version signObjectVersion makes) is verified and hashed over
// those bytes as they are; any other (built in memory, or a copy with a field changed) is encoded
// again first. Both give the same bytes for the same fields: the decoder accepts only the canonical
// encoding.
//
// Below: the acceptance rule a replica applies to a put (`decidePut`) and a reader's choice among
// replicas' answers (`pickNewest`). Both are pure and synchronous. Wire/disk form: signedObjectCodec.ts.
import { HashDomain, SignatureDomain } from '../crypto/domains';
import { blake2b, blake2bHex } from '../crypto/hash';
import { signedBytes, signedBytesOfEncoded, signSync, type SigningKeyPair, verifySignedBytesSync } from '../crypto/sign';
import { ErrorCodes, type ErrorCode } from '../protocol/errors';
import { ID_BYTES, OBJECT_NAME_BYTES_MAX, OBJECT_PAYLOAD_BYTES_MAX } from '../protocol/limits';
import { encodeSignedObjectBytes, parseSignedObject, signedFieldsEncodingOf } from '../protocol/objects';

export type { SignedObject } from '../protocol/objects';
import type { SignedObject } from '../protocol/objects';

export const NO_PREVIOUS_VERSION: Uint8Array = new Uint8Array(ID_BYTES);

export function objectIdOf(owner: Uint8Array, name: string): string {
  if (owner.length !== 32) throw new RangeError(`owner must be a 32-byte Ed25519 public key, got ${owner.length} bytes`);
  return blake2bHex([HashDomain.objectId, owner, name]);
}

const signedFields = (o: Omit<SignedObject, 'signature'>): unknown[] => [
  Buffer.from(o.objectId, 'hex'),
  o.owner,
  o.name,
  o.seq,
  o.prev,
  o.payload,
];

/** The bytes the owner signs: from the bytes the version was decoded from when it has them, else encoded now. */
function signedMessage(o: SignedObject): Uint8Array {
  const encoded = signedFieldsEncodingOf(o);
  return encoded ? signedBytesOfEncoded(SignatureDomain.signedObject, encoded) : signedBytes(SignatureDomain.signedObject, signedFields(o));
}

/**
 * Hashes of versions that are views of their own bytes (read from bytes, or made by signObjectVersion),
 * each computed once. A log head is hashed several times on each side of a put: the writer for its
 * insert authorisation, its rollback mark and the next version's `prev`; a replica for the insert
 * authorisation, the stored stamp and, at the next put, the check of `prev` (issue 11: twelve BLAKE2b
 * passes over the head and as many copies of its signed bytes per STORE on a 3-replica write, four
 * now). Such a version is frozen and its bytes are what it is; a version without bytes of its own (a
 * copy with a field changed) is hashed afresh each time.
 */
const hashesOfEncoded = new WeakMap<SignedObject, Buffer>();

/** The hash that identifies this version (the next version's `prev`). Covers every field but the signature. */
export function versionHash(o: SignedObject): Buffer {
  const known = hashesOfEncoded.get(o);
  if (known) return Buffer.from(known); // a copy: callers may keep it
  const hash = blake2b(signedMessage(o)) as Buffer;
  if (signedFieldsEncodingOf(o)) hashesOfEncoded.set(o, Buffer.from(hash));
  return hash;
}

export type ObjectCheck = { ok: true } | { ok: false; code: 'BAD_OBJECT' | 'BAD_OBJECT_ID' | 'BAD_SIGNATURE'; message: string };

const ID_HEX = /^[0-9a-f]{64}$/;
/** A UTF-16 surrogate without its pair: such a name has no UTF-8 form, so no canonical encoding. */
const LONE_SURROGATE = /\p{Surrogate}/u;
const isZero = (b: Uint8Array) => b.every((x) => x === 0);

/** Why a version is malformed, or undefined. */
function shapeProblem(o: SignedObject): string | undefined {
  if (typeof o.objectId !== 'string' || !ID_HEX.test(o.objectId)) return 'object id is not 64 lowercase hex digits';
  if (!(o.owner instanceof Uint8Array) || o.owner.length !== 32) return 'owner is not a 32-byte public key';
  if (typeof o.name !== 'string' || Buffer.byteLength(o.name, 'utf8') > OBJECT_NAME_BYTES_MAX) return `name is not a string of at most ${OBJECT_NAME_BYTES_MAX} bytes`;
  if (LONE_SURROGATE.test(o.name)) return 'name is not well-formed Unicode';
  if (!Number.isSafeInteger(o.seq) || o.seq < 1) return `sequence ${String(o.seq)} is not an integer >= 1`;
  if (!(o.prev instanceof Uint8Array) || o.prev.length !== ID_BYTES) return 'prev is not a 32-byte hash';
  if (o.seq === 1 && !isZero(o.prev)) return 'the first version (seq 1) must have an all-zero prev';
  if (!(o.payload instanceof Uint8Array) || o.payload.length > OBJECT_PAYLOAD_BYTES_MAX) return `payload is not bytes or exceeds ${OBJECT_PAYLOAD_BYTES_MAX}`;
  if (!(o.signature instanceof Uint8Array) || o.signature.length !== 64) return 'signature is not 64 bytes';
  return undefined;
}

/** Is this a well-formed version, at the id its owner and name give, signed by its owner? Synchronous and pure. */
export function checkSignedObject(o: SignedObject): ObjectCheck {
  const who = `object ${String(o.objectId).slice(0, 16)} seq ${String(o.seq)}`;
  const problem = shapeProblem(o);
  if (problem) return { ok: false, code: ErrorCodes.BAD_OBJECT, message: `${who}: ${problem}` };
  if (objectIdOf(o.owner, o.name) !== o.objectId) {
    return { ok: false, code: ErrorCodes.BAD_OBJECT_ID, message: `${who}: id is not derived from its owner and name "${o.name.slice(0, 64)}"` };
  }
  if (!verifySignedBytesSync(signedMessage(o), o.signature, o.owner)) {
    return { ok: false, code: ErrorCodes.BAD_SIGNATURE, message: `${who}: signature does not verify against the owner's key` };
  }
  return { ok: true };
}

/**
 * Sign a version: the first one (seq 1) without `previous`, else the successor of `previous`
 * (seq + 1, prev = its hash). Use the version you last read, so a replica can tell a fork. The
 * version is encoded once and returned as decoded from those bytes (frozen, with its bytes), so
 * sending, hashing and storing it encode nothing again.
 */
export async function signObjectVersion(args: {
  keys: SigningKeyPair;
  name: string;
  payload: Uint8Array;
  previous?: SignedObject;
}): Promise<SignedObject> {
  const { keys, name, payload, previous } = args;
  const objectId = objectIdOf(keys.publicKey, name);
  if (previous && previous.objectId !== objectId) throw new Error(`signObjectVersion: previous version belongs to object ${previous.objectId}, not ${objectId}`);
  const body = {
    objectId,
    owner: new Uint8Array(keys.publicKey),
    name,
    seq: previous ? previous.seq + 1 : 1,
    prev: previous ? new Uint8Array(versionHash(previous)) : new Uint8Array(ID_BYTES),
    payload,
  };
  const problem = shapeProblem({ ...body, signature: new Uint8Array(64) });
  if (problem) throw new RangeError(`signObjectVersion: ${problem}`);
  const signature = signSync(SignatureDomain.signedObject, signedFields(body), keys.secretKey);
  return parseSignedObject(encodeSignedObjectBytes({ ...body, signature }));
}

// ---- the replica's acceptance rule -------------------------------------------------------------

export type PutRefusalCode = 'SEQ_NOT_NEWER' | 'CAS_MISMATCH' | 'FORK' | 'BAD_SIGNATURE' | 'BAD_OBJECT_ID' | 'BAD_OBJECT';

export type PutDecision =
  | { accept: true }
  | {
      accept: false;
      code: PutRefusalCode;
      message: string;
      /** The version the replica holds, for the writer to re-read and rebase on (CAS_MISMATCH, SEQ_NOT_NEWER, FORK). */
      current?: SignedObject;
    };

/**
 * Should a replica holding `stored` (already verified when it was stored) replace it by `incoming`?
 *
 * - `replacesSeq` set (a writer's compare-and-swap; 0 = "nothing stored yet"): accepted only if the
 *   replica holds exactly that sequence (else CAS_MISMATCH with the current version), `incoming` is
 *   newer (else SEQ_NOT_NEWER) and extends it: seq = stored seq + 1 and prev = its hash (else FORK).
 * - `replacesSeq` undefined (repair between replicas): accepted if verified and newer than what is
 *   stored. No chain check: a replica left on a losing fork must still converge to the owner's newest.
 *
 * Checks run cheapest-first, but a bad version is refused (BAD_OBJECT, BAD_OBJECT_ID, BAD_SIGNATURE)
 * before any sequence comparison, so a forgery never learns anything about the stored state.
 * `checked`: what checkSignedObject said of `incoming`, when the caller has it already (a put decided
 * again after a lost race is not verified again).
 */
export function decidePut(stored: SignedObject | undefined, incoming: SignedObject, replacesSeq: number | undefined, checked?: ObjectCheck): PutDecision {
  if (stored && stored.objectId !== incoming.objectId) {
    throw new Error(`decidePut: stored object ${stored.objectId} compared with a put for ${incoming.objectId}`);
  }
  if (replacesSeq !== undefined && !(Number.isSafeInteger(replacesSeq) && replacesSeq >= 0)) {
    return { accept: false, code: ErrorCodes.BAD_OBJECT, message: `replaced sequence ${replacesSeq} is not an integer >= 0` };
  }
  const check = checked ?? checkSignedObject(incoming);
  if (!check.ok) return { accept: false, code: check.code, message: check.message };

  const storedSeq = stored?.seq ?? 0;
  const who = `object ${incoming.objectId.slice(0, 16)}`;
  const current = stored ? { current: stored } : {};
  if (replacesSeq !== undefined && replacesSeq !== storedSeq) {
    return { accept: false, code: ErrorCodes.CAS_MISMATCH, message: `${who}: the put replaces seq ${replacesSeq}, but seq ${storedSeq} is stored: re-read and retry`, ...current };
  }
  if (incoming.seq <= storedSeq) {
    return { accept: false, code: ErrorCodes.SEQ_NOT_NEWER, message: `${who}: seq ${incoming.seq} is not newer than the stored seq ${storedSeq}`, ...current };
  }
  if (replacesSeq === undefined) return { accept: true };
  if (incoming.seq !== storedSeq + 1) {
    return { accept: false, code: ErrorCodes.FORK, message: `${who}: seq ${incoming.seq} skips ahead of the stored seq ${storedSeq}`, ...current };
  }
  const expectedPrev = stored ? versionHash(stored) : NO_PREVIOUS_VERSION;
  if (!Buffer.from(incoming.prev).equals(Buffer.from(expectedPrev))) {
    return { accept: false, code: ErrorCodes.FORK, message: `${who}: seq ${incoming.seq} does not extend the stored seq ${storedSeq} (prev differs): a fork`, ...current };
  }
  return { accept: true };
}

// ---- readers ------------------------------------------------------------------------------------

export interface RankedVersions {
  /** Versions that verify (and are of the expected object), newest first. */
  valid: SignedObject[];
  /** Versions that do not, with why: a reader may report or repair these replicas. */
  rejected: { index: number; code: ErrorCode; message: string }[];
}

/**
 * Sort replicas' answers: verified versions newest first (equal sequences, i.e. a fork, ordered by
 * version hash so every reader picks the same one); forged or foreign ones set aside.
 */
export function rankVersions(versions: readonly (SignedObject | undefined)[], expectedObjectId?: string): RankedVersions {
  const valid: { version: SignedObject; hashHex: string }[] = [];
  const rejected: RankedVersions['rejected'] = [];
  versions.forEach((version, index) => {
    if (!version) return;
    if (expectedObjectId !== undefined && version.objectId !== expectedObjectId) {
      rejected.push({ index, code: ErrorCodes.BAD_OBJECT_ID, message: `answer is for object ${String(version.objectId).slice(0, 16)}, not ${expectedObjectId.slice(0, 16)}` });
      return;
    }
    const check = checkSignedObject(version);
    if (check.ok) valid.push({ version, hashHex: versionHash(version).toString('hex') });
    else rejected.push({ index, code: check.code, message: check.message });
  });
  valid.sort((a, b) => b.version.seq - a.version.seq || (a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0));
  return { valid: valid.map((v) => v.version), rejected };
}

/** The versions that verify, each once (replicas holding the same version count once), in rankVersions' order. */
export function distinctVersions(versions: readonly (SignedObject | undefined)[], expectedObjectId?: string): SignedObject[] {
  const seen = new Set<string>();
  return rankVersions(versions, expectedObjectId).valid.filter((v) => {
    const hash = versionHash(v).toString('hex');
    return !seen.has(hash) && (seen.add(hash), true);
  });
}

/** The highest-sequence version that verifies, skipping forged or malformed ones; undefined if none does. */
export const pickNewest = (versions: readonly (SignedObject | undefined)[], expectedObjectId?: string): SignedObject | undefined =>
  rankVersions(versions, expectedObjectId).valid[0];
