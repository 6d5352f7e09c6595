// The searchable text of a message: header values with encoded words decoded, and the decoded
// text of its text parts (transfer encoding and charset undone), so BODY "café" finds a
// quoted-printable ISO-8859-1 body.
import { decodeCharset } from '../../mime/charset';
import { paramValue } from '../../mime/contentType';
import { decodeEncodedWords } from '../../mime/encodedWords';
import { parseHeaderFields, type HeaderField } from '../../mime/headers';
import type { MimeEntity } from '../../mime/structure';
import { decodeTransfer } from '../../mime/transferEncoding';

function fieldsOf(raw: Uint8Array, entity: MimeEntity): readonly HeaderField[] {
  return entity.fields ?? parseHeaderFields(raw, entity.headerStart, entity.bodyStart);
}

/** Decoded values of every field with this name (lower case). */
export function headerValues(raw: Uint8Array, root: MimeEntity, name: string): string[] {
  return fieldsOf(raw, root)
    .filter((f) => f.name === name)
    .map((f) => decodeEncodedWords(f.value));
}

export function headerBlockText(raw: Uint8Array, entity: MimeEntity): string {
  return fieldsOf(raw, entity)
    .map((f) => `${f.name}: ${decodeEncodedWords(f.value)}`)
    .join('\n');
}

function leafText(raw: Uint8Array, entity: MimeEntity): string {
  const bytes = raw.subarray(entity.bodyStart, entity.bodyEnd);
  const decoded = decodeTransfer(bytes, entity.encoding);
  return decodeCharset(decoded, paramValue(entity.params, 'charset'));
}

/** Text of the body: text parts decoded, encapsulated messages with their headers. */
export function bodyText(raw: Uint8Array, entity: MimeEntity): string {
  const pieces: string[] = [];
  const visit = (node: MimeEntity, isRoot: boolean): void => {
    if (node.children) {
      for (const child of node.children) visit(child, false);
    } else if (node.message) {
      pieces.push(headerBlockText(raw, node.message));
      visit(node.message, true);
    } else if (node.type === 'text' || (isRoot && node.type !== 'multipart' && node.type !== 'image' && node.type !== 'audio' && node.type !== 'video')) {
      pieces.push(leafText(raw, node));
    }
  };
  visit(entity, true);
  return pieces.join('\n');
}
