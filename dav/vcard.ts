// vCards through ical.js (issue 16: a maintained parser, never our own; ICAL.parse reads vCard 3.0 and
// 4.0 as it reads iCalendar): checking what a client PUTs into an address book (RFC 6352 5.1: one
// vCard per resource, with a UID; vCard itself requires VERSION and FN), and the property values an
// addressbook-query's prop-filters look at.
import ICAL from 'ical.js';

export interface VCardResource {
  readonly uid: string;
  readonly root: ICAL.Component;
}

export class VCardError extends Error {}

/** A property value as text: structured values (N, ADR) joined by spaces. */
export const text = (v: unknown): string => (Array.isArray(v) ? v.map(text).filter((x) => x !== '').join(' ') : v === null || v === undefined ? '' : String(v));

/** One vCard with VERSION 3.0 or 4.0, a UID and an FN; VCardError (400) for anything else. */
export function parseVCard(source: string): VCardResource {
  let parsed: unknown;
  try {
    parsed = ICAL.parse(source);
  } catch (e) {
    throw new VCardError(`not a vCard: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || Array.isArray(parsed[0])) throw new VCardError('an address book resource holds exactly one vCard');
  const root = new ICAL.Component(parsed);
  if (root.name !== 'vcard') throw new VCardError('the resource is not a VCARD');
  const version = text(root.getFirstPropertyValue('version'));
  if (version !== '3.0' && version !== '4.0') throw new VCardError('a vCard needs VERSION 3.0 or 4.0');
  const uid = text(root.getFirstPropertyValue('uid'));
  if (uid === '') throw new VCardError('a vCard in an address book needs a UID (RFC 6352 5.1)');
  if (text(root.getFirstPropertyValue('fn')).trim() === '') throw new VCardError('a vCard needs an FN (its formatted name)');
  return { uid, root };
}

