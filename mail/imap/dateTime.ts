// IMAP dates ("17-Jul-1996" and "17-Jul-1996 02:44:25 -0700") and calendar arithmetic done by
// hand: protocol code never constructs Date objects, so time only enters through the Clock.

export const monthNames = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const msPerDay = 86_400_000;

/** Days since 1970-01-01 for a proleptic Gregorian date (month 1-12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** The UTC calendar day (days since epoch) of an instant. */
export function dayOfInstant(ms: number): number {
  return Math.floor(ms / msPerDay);
}

export function monthFromName(name: string): number | undefined {
  const index = monthNames.findIndex((m) => m.toLowerCase() === name.toLowerCase());
  return index < 0 ? undefined : index + 1;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** INTERNALDATE text for an instant, in UTC: "17-Jul-1996 09:44:25 +0000". */
export function formatInternalDate(ms: number): string {
  const days = dayOfInstant(ms);
  const { year, month, day } = civilFromDays(days);
  const secondsOfDay = Math.floor((ms - days * msPerDay) / 1000);
  const h = Math.floor(secondsOfDay / 3600);
  const m = Math.floor((secondsOfDay % 3600) / 60);
  const s = secondsOfDay % 60;
  return `${pad(day, 2)}-${monthNames[month - 1]}-${pad(year, 4)} ${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)} +0000`;
}

/** Parses an APPEND date-time; undefined when malformed. */
export function parseImapDateTime(text: string): number | undefined {
  const match = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [, dayText, monthText, yearText, hText, mText, sText, sign, zh, zm] = match;
  const month = monthFromName(monthText!);
  const day = Number(dayText);
  const h = Number(hText);
  const m = Number(mText);
  const s = Number(sText);
  if (month === undefined || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const offsetMinutes = (Number(zh) * 60 + Number(zm)) * (sign === '-' ? -1 : 1);
  const days = daysFromCivil(Number(yearText), month, day);
  return days * msPerDay + ((h * 60 + m - offsetMinutes) * 60 + Math.min(s, 59)) * 1000;
}

/** Parses a SEARCH date ("1-Feb-1994") into days since epoch; undefined when malformed. */
export function parseSearchDate(text: string): number | undefined {
  const match = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!match) return undefined;
  const month = monthFromName(match[2]!);
  const day = Number(match[1]);
  if (month === undefined || day < 1 || day > 31) return undefined;
  return daysFromCivil(Number(match[3]), month, day);
}
