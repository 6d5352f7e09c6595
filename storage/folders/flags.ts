// IMAP flags as a folder log keeps them: system flags in canonical case ("\Seen"), keywords as given,
// no duplicates (compared case-insensitively, RFC 3501), never "\Recent" (a session property, not
// stored), at most MESSAGE_FLAGS_MAX of at most FLAG_CHARS_MAX characters each. Order is kept as first
// given, so every device shows the same list.
import { FLAG_CHARS_MAX, MESSAGE_FLAGS_MAX } from '../../protocol/limits';

export type FlagMode = 'add' | 'remove' | 'replace';

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
const canonicalSystem = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

export const SEEN = '\\Seen';
export const DELETED = '\\Deleted';

const fold = (flag: string) => flag.toLowerCase();

export function normaliseFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of flags) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > FLAG_CHARS_MAX) continue;
    const key = fold(raw);
    if (key === '\\recent' || seen.has(key)) continue;
    seen.add(key);
    out.push(canonicalSystem.get(key) ?? raw);
    if (out.length >= MESSAGE_FLAGS_MAX) break;
  }
  return out;
}

export const hasFlag = (flags: readonly string[], flag: string): boolean => flags.some((f) => fold(f) === fold(flag));

export function applyFlagUpdate(current: readonly string[], mode: FlagMode, flags: readonly string[]): string[] {
  if (mode === 'replace') return normaliseFlags(flags);
  if (mode === 'add') return normaliseFlags([...current, ...flags]);
  const removed = new Set(flags.map(fold));
  return current.filter((f) => !removed.has(fold(f)));
}

export function sameFlagSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(fold));
  return b.every((f) => set.has(fold(f)));
}
