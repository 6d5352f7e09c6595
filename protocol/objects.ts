// The encoded form of a signed object (storage/signedObject.ts has the rules), the same on disk and
// on the wire (a frame carries it as one bytes field): the canonical msgpack of
//   [1, objectId (32 bytes), owner (32), name, seq, prev (32), payload, signature (64)]
// The owner signs the canonical msgpack of the six fields between the format and the signature, so
// these bytes hold the signed bytes as they are: a replica verifies, hashes and stores what arrived
// instead of encoding the version again (issue 11: that re-encoding was 6-8% of a replica's CPU).
// Decoding checks shape only (every length bounded, every header canonical); storage/signedObject.ts
// checkSignedObject verifies.
import { type Codec, FrameError } from './codec';
import { canonicalBytes } from './frame';
import { ID_BYTES, OBJECT_NAME_BYTES_MAX, OBJECT_PAYLOAD_BYTES_MAX, SIGNED_OBJECT_BYTES_MAX } from './limits';

export interface SignedObject {
  /** Lowercase hex, 64 chars: objectIdOf(owner, name). */
  readonly objectId: string;
  /** The owner's Ed25519 public key, 32 bytes. */
  readonly owner: Uint8Array;
  readonly name: string;
  /** 1 for the first version, then +1 per version. */
  readonly seq: number;
  /** versionHash of version seq - 1 (32 bytes); all zeros for seq 1. */
  readonly prev: Uint8Array;
  /** Opaque to replicas (usually encrypted by the owner); at most OBJECT_PAYLOAD_BYTES_MAX bytes. */
  readonly payload: Uint8Array;
  /** Ed25519 over the signed bytes above, 64 bytes. */
  readonly signature: Uint8Array;
}

export const SIGNED_OBJECT_FIELDS = 8;

const FORMAT = 1;

/**
 * The canonical bytes each version was decoded from (or built as: storage/signedObject.ts signs a
 * version by encoding it once), for versions whose fields are views of them. Such a version is frozen,
 * so a field can only change with its bytes, and a copy (`{ ...o, seq: 2 }`) is a new object without
 * bytes, checked by encoding it again. Keyed weakly: a version's bytes go when it goes.
 */
const encodedForms = new WeakMap<SignedObject, Uint8Array>();

/** The canonical encoding `o` is a view of, if it has one (see parseSignedObject). */
export const encodedFormOf = (o: SignedObject): Uint8Array | undefined => encodedForms.get(o);

/** Bytes of the encoded signature field at the end: bin 8 header (2) + 64. */
const SIGNATURE_FIELD_BYTES = 2 + 64;
/** The header of the signed fields' own array (6 of the 8: no format, no signature). */
const SIGNED_FIELDS_HEADER = Uint8Array.of(0x90 + SIGNED_OBJECT_FIELDS - 2);

/**
 * The canonical msgpack of the signed fields [objectId, owner, name, seq, prev, payload], as pieces
 * to concatenate, taken from the bytes `o` is a view of: the encoded tuple minus its header, format
 * and signature, behind the 6-field array header. Undefined for a version without bytes.
 */
export function signedFieldsEncodingOf(o: SignedObject): Uint8Array[] | undefined {
  const encoded = encodedForms.get(o);
  return encoded && [SIGNED_FIELDS_HEADER, encoded.subarray(2, encoded.length - SIGNATURE_FIELD_BYTES)];
}

/** A strict reader of one canonical encoding: every header must be the shortest the encoder writes. */
class CanonicalReader {
  private pos = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly path: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(field: string, what: string): never {
    throw new FrameError(`${this.path ? `${this.path}.` : ''}${field}: ${what}`);
  }

  private take(field: string, n: number): Uint8Array {
    if (this.pos + n > this.bytes.length) this.fail(field, 'truncated');
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private byte(field: string): number {
    return this.take(field, 1)[0]!;
  }

  /** A length after a 1, 2 or 4 byte prefix, refused if a shorter prefix would have held it. */
  private length(field: string, size: 1 | 2 | 4, shortestBelow: number): number {
    const at = this.pos;
    this.take(field, size);
    const n = size === 1 ? this.view.getUint8(at) : size === 2 ? this.view.getUint16(at) : this.view.getUint32(at);
    if (n < shortestBelow) this.fail(field, 'not in canonical encoding (a longer header than needed)');
    return n;
  }

  bin(field: string, opts: { len?: number; max: number }): Uint8Array {
    const tag = this.byte(field);
    const n = tag === 0xc4 ? this.length(field, 1, 0) : tag === 0xc5 ? this.length(field, 2, 0x100) : tag === 0xc6 ? this.length(field, 4, 0x10000) : this.fail(field, 'expected bytes');
    if (opts.len !== undefined && n !== opts.len) this.fail(field, `expected ${opts.len} bytes, got ${n}`);
    if (n > opts.max) this.fail(field, `${n} bytes exceeds ${opts.max}`);
    return this.take(field, n);
  }

  str(field: string, maxBytes: number): string {
    const tag = this.byte(field);
    const n = tag >= 0xa0 && tag <= 0xbf ? tag - 0xa0 : tag === 0xd9 ? this.length(field, 1, 32) : tag === 0xda ? this.length(field, 2, 0x100) : this.fail(field, 'expected a string');
    if (n > maxBytes) this.fail(field, `string of ${n} bytes exceeds ${maxBytes}`);
    try {
      // Fatal: only well-formed UTF-8 (one byte string per string, the one the encoder writes); the BOM kept.
      return strictUtf8.decode(this.take(field, n));
    } catch (e) {
      if (e instanceof FrameError) throw e;
      return this.fail(field, 'not well-formed UTF-8');
    }
  }

  uint(field: string): number {
    const tag = this.byte(field);
    if (tag < 0x80) return tag;
    const at = this.pos;
    if (tag === 0xcc) return this.length(field, 1, 0x80);
    if (tag === 0xcd) return this.length(field, 2, 0x100);
    if (tag === 0xce) return this.length(field, 4, 0x10000);
    if (tag !== 0xcf) return this.fail(field, 'expected an unsigned integer');
    this.take(field, 8);
    const n = this.view.getBigUint64(at);
    if (n < 0x100000000n || n > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(field, 'not a canonical safe integer');
    return Number(n);
  }

  expect(field: string, value: number, what: string): void {
    if (this.byte(field) !== value) this.fail(field, what);
  }

  end(): void {
    if (this.pos !== this.bytes.length) this.fail('end', `${this.bytes.length - this.pos} bytes after the signed object`);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A version from its canonical encoding (what a store keeps and the wire carries), read strictly:
 * a header longer than needed, a float for the sequence, bytes after the end or malformed UTF-8 are
 * refused, so exactly one byte string encodes each version and the bytes are the canonical encoding
 * of the fields read from them. The version returned is frozen, its byte fields are views of
 * `encoded`, and it keeps `encoded` as its bytes: a replica verifies and hashes those bytes as they
 * came, and stores them, without encoding the version again. Throws a FrameError naming the field.
 */
export function parseSignedObject(encoded: Uint8Array, path = ''): SignedObject {
  const r = new CanonicalReader(encoded, path);
  r.expect('fields', 0x90 + SIGNED_OBJECT_FIELDS, `expected a ${SIGNED_OBJECT_FIELDS}-field signed object`);
  r.expect('format', FORMAT, `expected format ${FORMAT}`);
  const objectId = Buffer.from(r.bin('objectId', { len: ID_BYTES, max: ID_BYTES })).toString('hex');
  const owner = r.bin('owner', { len: 32, max: 32 });
  const name = r.str('name', OBJECT_NAME_BYTES_MAX);
  const seq = r.uint('seq');
  const prev = r.bin('prev', { len: ID_BYTES, max: ID_BYTES });
  const payload = r.bin('payload', { max: OBJECT_PAYLOAD_BYTES_MAX });
  const signature = r.bin('signature', { len: 64, max: 64 });
  r.end();
  const version: SignedObject = Object.freeze({ objectId, owner, name, seq, prev, payload, signature });
  encodedForms.set(version, encoded);
  return version;
}

/** The canonical encoding of a version: its own bytes when it has them, else encoded now. */
export const encodeSignedObjectBytes = (o: SignedObject): Uint8Array =>
  encodedForms.get(o) ?? canonicalBytes([FORMAT, Buffer.from(o.objectId, 'hex'), o.owner, o.name, o.seq, o.prev, o.payload, o.signature]);

/**
 * A signed object as a frame field (embed it in replica-manager messages): its canonical encoding
 * as bytes, so the receiver reads, verifies and stores the very bytes the owner's signature covers.
 */
export const signedObjectCodec: Codec<SignedObject> = {
  encode: (o) => encodeSignedObjectBytes(o),
  decode(wire, path) {
    if (!(wire instanceof Uint8Array)) throw new FrameError(`${path || 'signedObject'}: expected a signed object's bytes, got ${Array.isArray(wire) ? 'an array (a node older than this one sent it)' : typeof wire}`);
    if (wire.length > SIGNED_OBJECT_BYTES_MAX) throw new FrameError(`${path || 'signedObject'}: ${wire.length} bytes is larger than any signed object`);
    return parseSignedObject(wire, path);
  },
};
