// Flag names: system flags in canonical case, keywords checked against the atom grammar.
import { systemFlags } from '../backend';
import { imapLimits } from './limits';

const canonicalSystem = new Map<string, string>(systemFlags.map((f) => [f.toLowerCase(), f]));
const keywordPattern = /^[!#$&'+\-.0-9:;<=>?@A-Z\[^_`a-z|~\x80-\uffff]+$/; // ATOM-CHAR minus specials

export class FlagError extends Error {}

/** Canonical form of a client flag; undefined for \Recent (which clients cannot set). */
export function canonicalFlag(flag: string): string | undefined {
  if (flag.startsWith('\\')) {
    const lower = flag.toLowerCase();
    if (lower === '\\recent') return undefined;
    const canonical = canonicalSystem.get(lower);
    if (!canonical) throw new FlagError(`unknown system flag ${flag}`);
    return canonical;
  }
  // "NIL" is an atom, but a client reading FLAGS (NIL) sees nil, not a keyword.
  if (flag.toUpperCase() === 'NIL') throw new FlagError('NIL cannot be used as a keyword');
  if (flag.length > imapLimits.keywordBytesMax) throw new FlagError(`keyword longer than ${imapLimits.keywordBytesMax} characters`);
  if (!keywordPattern.test(flag)) throw new FlagError(`"${flag}" is not a valid keyword`);
  return flag;
}

export function canonicalFlags(flags: readonly string[]): string[] {
  const result: string[] = [];
  for (const flag of flags) {
    const canonical = canonicalFlag(flag);
    if (canonical && !result.some((f) => f.toLowerCase() === canonical.toLowerCase())) result.push(canonical);
  }
  if (result.length > imapLimits.flagsPerMessageMax) throw new FlagError(`at most ${imapLimits.flagsPerMessageMax} flags per message`);
  return result;
}

export function hasFlag(flags: readonly string[], flag: string): boolean {
  const lower = flag.toLowerCase();
  return flags.some((f) => f.toLowerCase() === lower);
}
