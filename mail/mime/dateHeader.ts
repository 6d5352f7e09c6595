// The Date: header (RFC 5322 3.3, obsolete forms tolerated): the calendar date as written, for
// SENTBEFORE/SENTON/SENTSINCE (RFC 3501 6.4.4 ignores time and zone), and the instant in UTC, for
// SORT DATE and THREAD (RFC 5256).
import { daysFromCivil, monthFromName } from '../imap/dateTime';

export interface HeaderDate {
  /** Calendar date as written, in days since 1970-01-01. */
  readonly days: number;
  /** The instant, in ms since the epoch (UTC); zone names of RFC 822 understood, others as UTC. */
  readonly ms: number;
}

const zoneHours: Record<string, number> = { UT: 0, UTC: 0, GMT: 0, Z: 0, EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7 };

export function parseDateHeader(value: string): HeaderDate | undefined {
  const text = value.replace(/\([^)]*\)/g, ' ').trim();
  const match = /(?:[A-Za-z]{3},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([+-]\d{4}|[A-Za-z]{1,5}))?)?/.exec(text);
  if (!match) return undefined;
  const month = monthFromName(match[2]!);
  if (month === undefined) return undefined;
  let year = Number(match[3]);
  if (match[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (match[3]!.length === 3) year += 1900;
  const day = Number(match[1]);
  if (day < 1 || day > 31) return undefined;
  const days = daysFromCivil(year, month, day);
  const seconds = Number(match[4] ?? 0) * 3600 + Number(match[5] ?? 0) * 60 + Number(match[6] ?? 0);
  const zone = match[7];
  let offsetMinutes = 0;
  if (zone && /^[+-]\d{4}$/.test(zone)) offsetMinutes = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  else if (zone) offsetMinutes = (zoneHours[zone.toUpperCase()] ?? 0) * 60;
  return { days, ms: days * 86_400_000 + (seconds - offsetMinutes * 60) * 1000 };
}
