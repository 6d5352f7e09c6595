// RFC 5322 lexical tokens of structured header values (addresses, Content-Type parameters):
// atoms, quoted strings, comments and specials. Lenient: malformed input yields tokens, not errors.

export type HeaderToken =
  | { readonly kind: 'atom'; readonly text: string }
  | { readonly kind: 'quoted'; readonly text: string }
  | { readonly kind: 'comment'; readonly text: string }
  | { readonly kind: 'special'; readonly text: string }
  | { readonly kind: 'space' };

export function tokenizeStructured(value: string, specials: string): HeaderToken[] {
  const tokens: HeaderToken[] = [];
  let i = 0;
  while (i < value.length) {
    const ch = value[i]!;
    // Any white space, as the atom branch below stops at any (form feed, NBSP, ...): a character
    // neither branch consumed would loop forever (found by the fuzzer: `From: a\fb`).
    if (/\s/.test(ch)) {
      while (i < value.length && /\s/.test(value[i]!)) i++;
      tokens.push({ kind: 'space' });
    } else if (ch === '"') {
      let text = '';
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        text += value[i];
        i++;
      }
      i++;
      tokens.push({ kind: 'quoted', text });
    } else if (ch === '(') {
      let depth = 1;
      let text = '';
      i++;
      while (i < value.length && depth > 0) {
        const c = value[i]!;
        if (c === '\\' && i + 1 < value.length) {
          text += value[i + 1];
          i += 2;
          continue;
        }
        if (c === '(') depth++;
        if (c === ')') depth--;
        if (depth > 0) text += c;
        i++;
      }
      tokens.push({ kind: 'comment', text });
    } else if (specials.includes(ch)) {
      tokens.push({ kind: 'special', text: ch });
      i++;
    } else {
      let text = '';
      while (i < value.length && !specials.includes(value[i]!) && !/[\s"(]/.test(value[i]!)) {
        text += value[i];
        i++;
      }
      tokens.push({ kind: 'atom', text });
    }
  }
  return tokens;
}
