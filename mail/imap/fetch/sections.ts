// BODY[section] to bytes (RFC 3501 6.4.5): part paths through multiparts and encapsulated messages,
// HEADER, HEADER.FIELDS[.NOT], TEXT and MIME. Results are views into the raw message except for
// the header-field selections, which are small.
import { parseHeaderFields } from '../../mime/headers';
import type { MimeEntity } from '../../mime/structure';
import { decodeTransfer, isKnownTransferEncoding } from '../../mime/transferEncoding';
import { failNo } from '../command';

export type SectionSpecifier = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface SectionSpec {
  readonly path: readonly number[];
  readonly specifier: SectionSpecifier;
  /** Field names for HEADER.FIELDS[.NOT], as the client wrote them. */
  readonly fieldNames: readonly string[];
}

function isMessage(entity: MimeEntity): boolean {
  return entity.message !== undefined;
}

/** The entity a part path names, or undefined when the message has no such part. */
export function resolvePart(root: MimeEntity, path: readonly number[]): MimeEntity | undefined {
  let node = root;
  for (let k = 0; k < path.length; k++) {
    if (k > 0) {
      if (isMessage(node)) node = node.message!;
      else if (!node.children) return undefined;
    }
    const n = path[k]!;
    if (node.children) {
      const child = node.children[n - 1];
      if (!child) return undefined;
      node = child;
    } else if (n !== 1) return undefined;
  }
  return node;
}

const crlf = Buffer.from('\r\n');

function slice(raw: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(raw.buffer, raw.byteOffset + start, Math.max(0, end - start));
}

function selectFields(raw: Uint8Array, entity: MimeEntity, names: readonly string[], keep: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const fields = entity.fields ?? parseHeaderFields(raw, entity.headerStart, entity.bodyStart);
  const pieces = fields.filter((f) => wanted.has(f.name) === keep).map((f) => slice(raw, f.start, f.end));
  // Each field keeps its own line ending; a last field without one gets CRLF before the blank line.
  const last = pieces[pieces.length - 1];
  if (last && last[last.length - 1] !== 0x0a) pieces.push(crlf);
  pieces.push(crlf);
  return Buffer.concat(pieces);
}

/** Bytes of a section, or undefined when the part does not exist (answered with NIL). */
export function sectionBytes(raw: Uint8Array, root: MimeEntity, spec: SectionSpec): Buffer | undefined {
  const part = spec.path.length === 0 ? root : resolvePart(root, spec.path);
  if (!part) return undefined;
  if (spec.specifier === '') {
    return spec.path.length === 0 ? slice(raw, 0, raw.length) : slice(raw, part.bodyStart, part.bodyEnd);
  }
  if (spec.specifier === 'MIME') return slice(raw, part.headerStart, part.bodyStart);
  // HEADER, HEADER.FIELDS, TEXT address a message: the root or an encapsulated message.
  const message = spec.path.length === 0 ? root : part.message;
  if (!message) return undefined;
  if (spec.specifier === 'HEADER') return slice(raw, message.headerStart, message.bodyStart);
  if (spec.specifier === 'TEXT') return slice(raw, message.bodyStart, message.bodyEnd);
  return selectFields(raw, message, spec.fieldNames, spec.specifier === 'HEADER.FIELDS');
}

/**
 * BINARY[part] (RFC 3516): the part's body with its content transfer encoding undone; the whole
 * message for an empty path; multiparts and encapsulated messages as stored. Undefined when the
 * part does not exist; NO [UNKNOWN-CTE] for an encoding this server cannot undo.
 */
export function binaryBytes(raw: Uint8Array, root: MimeEntity, path: readonly number[]): Buffer | undefined {
  if (path.length === 0) return slice(raw, 0, raw.length);
  const part = resolvePart(root, path);
  if (!part) return undefined;
  const body = slice(raw, part.bodyStart, part.bodyEnd);
  if (part.children || part.message) return body;
  if (!isKnownTransferEncoding(part.encoding)) failNo(`part ${path.join('.')} has the unknown content transfer encoding ${part.encoding}`, 'UNKNOWN-CTE');
  const decoded = decodeTransfer(body, part.encoding);
  return Buffer.isBuffer(decoded) ? decoded : Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

/** Applies <offset.length>: RFC 3501 returns "" when the offset is past the end. */
export function partialBytes(bytes: Buffer, offset: number, length: number | undefined): Buffer {
  if (offset >= bytes.length) return bytes.subarray(0, 0);
  return bytes.subarray(offset, length === undefined ? bytes.length : Math.min(bytes.length, offset + length));
}
