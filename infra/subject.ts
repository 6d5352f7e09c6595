// NATS subject rules, shared by the simulated network and the NATS adapter so that both refuse the
// same programmer errors. A subject is dot-separated tokens; `*` matches one token and `>` the rest
// (at least one token), and both only as whole tokens. Publishing to a wildcard is a programmer error.

const DOT = 46;
const STAR = 42;
const GT = 62;

/** One pass over the characters (no split): this runs on every publish of a simulated ring. */
function checkTokens(subject: string, wildcardsAllowed: boolean): string | null {
  if (subject.length === 0) return 'is empty';
  let tokenStart = 0;
  for (let i = 0; i <= subject.length; i++) {
    const c = i === subject.length ? DOT : subject.charCodeAt(i);
    if (c <= 32 || c === 127) return 'contains whitespace or a control character';
    if (c !== DOT) continue;
    const length = i - tokenStart;
    if (length === 0) return 'has an empty token';
    const first = subject.charCodeAt(tokenStart);
    if (length === 1 && (first === STAR || first === GT)) {
      if (!wildcardsAllowed) return 'contains a wildcard (publish needs a literal subject)';
      if (first === GT && i !== subject.length) return "has '>' before its last token";
    } else if (hasWildcardChar(subject, tokenStart, i)) {
      return 'has a wildcard inside a token';
    }
    tokenStart = i + 1;
  }
  return null;
}

function hasWildcardChar(subject: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = subject.charCodeAt(i);
    if (c === STAR || c === GT) return true;
  }
  return false;
}

/** Throws (a programmer error, not an operating one) unless `subject` is a valid subscription subject. */
export function assertSubscribeSubject(subject: string): void {
  const problem = checkTokens(subject, true);
  if (problem) throw new Error(`invalid subscription subject '${subject}': it ${problem}`);
}

/** Throws unless `subject` is a valid literal subject to publish to. */
export function assertPublishSubject(subject: string): void {
  const problem = checkTokens(subject, false);
  if (problem) throw new Error(`invalid publish subject '${subject}': it ${problem}`);
}

/** Whether a subscription `pattern` matches the literal `subject` (reference semantics for tests). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return have.length > i;
    if (i >= have.length) return false;
    if (want[i] !== '*' && want[i] !== have[i]) return false;
  }
  return want.length === have.length;
}
