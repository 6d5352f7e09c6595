// Content-Type and Content-Disposition values: "type/subtype; name=value; ..." (RFC 2045, 2183).
// Parameter names and values are kept as written (quotes removed), as BODYSTRUCTURE reports them.
import { tokenizeStructured } from './lexer';

export interface ParameterizedValue {
  /** The value before the first ";", lower-cased, comments and whitespace removed. */
  readonly value: string;
  readonly params: readonly (readonly [string, string])[];
}

export function parseParameterized(text: string): ParameterizedValue {
  const tokens = tokenizeStructured(text, ';=');
  let value = '';
  let i = 0;
  for (; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'special' && token.text === ';') break;
    if (token.kind === 'atom' || token.kind === 'quoted') value += token.text;
    if (token.kind === 'special') value += token.text;
  }
  const params: [string, string][] = [];
  while (i < tokens.length) {
    i++; // past ";"
    let name = '';
    let paramValue: string | undefined;
    let seenEquals = false;
    for (; i < tokens.length; i++) {
      const token = tokens[i]!;
      if (token.kind === 'special' && token.text === ';') break;
      if (token.kind === 'special' && token.text === '=' && !seenEquals) {
        seenEquals = true;
        continue;
      }
      if (token.kind === 'comment') continue;
      if (token.kind === 'space') {
        // Keep spaces inside unquoted values that broken mailers emit ("name=my file.pdf").
        if (seenEquals && paramValue !== undefined) paramValue += ' ';
        continue;
      }
      const piece = token.kind === 'special' ? token.text : token.kind === 'atom' || token.kind === 'quoted' ? token.text : '';
      if (seenEquals) paramValue = (paramValue ?? '') + piece;
      else name += piece;
    }
    if (name.length > 0 && paramValue !== undefined) params.push([name, paramValue.trim()]);
  }
  return { value: value.trim().toLowerCase(), params };
}

export function paramValue(params: ParameterizedValue['params'], name: string): string | undefined {
  const lower = name.toLowerCase();
  return params.find(([n]) => n.toLowerCase() === lower)?.[1];
}
