// The Date: header (RFC 5322 3.3, obsolete forms tolerated) for SENTBEFORE/SENTON/SENTSINCE,
// which compare the calendar date as written, ignoring time and zone (RFC 3501 6.4.4).
import { daysFromCivil, monthFromName } from '../imap/dateTime';

export interface HeaderDate {
  /** Calendar date as written, in days since 1970-01-01. */
  readonly days: number;
}

export function parseDateHeader(value: string): HeaderDate | undefined {
  const text = value.replace(/\([^)]*\)/g, ' ').trim();
  const match = /(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(text);
  if (!match) return undefined;
  const month = monthFromName(match[2]!);
  if (month === undefined) return undefined;
  let year = Number(match[3]);
  if (match[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (match[3]!.length === 3) year += 1900;
  const day = Number(match[1]);
  if (day < 1 || day > 31) return undefined;
  return { days: daysFromCivil(year, month, day) };
}
