// Argument schemas: each command declares its arguments; they are checked and converted here
// before the handler runs, so handlers see typed values and malformed input gets BAD early.
import { CommandFailure } from './command';
import { canonicalFlags, FlagError } from './flags';
import { parseImapDateTime } from './dateTime';
import { decodeMailboxToken, MailboxNameError } from './mailboxNames';
import type { ImapToken } from './parser';
import { isSequenceSetSyntax, parseSequenceSet, savedResultSet, SequenceSetError, type SequenceSet } from './sequenceSet';
import { decodeMailboxUtf7, Utf7Error } from './utf7';

export interface ArgValueMap {
  atom: string;
  astring: string;
  string: string;
  mailbox: string;
  pattern: string;
  sequenceSet: SequenceSet;
  number: number;
  list: readonly ImapToken[];
  flags: string[];
  dateTime: number;
  literal: Buffer;
  rest: readonly ImapToken[];
}

export type ArgKind = keyof ArgValueMap;

export interface ArgSpec {
  readonly name: string;
  readonly kind: ArgKind;
  readonly optional?: boolean;
  /** A mailbox name about to be created: a name that cannot exist is refused with CANNOT, not NONEXISTENT. */
  readonly creates?: boolean;
}

export type ArgSchema = readonly ArgSpec[];

export type ArgsOf<S extends ArgSchema> = {
  [A in S[number] as A['name']]: A extends { readonly optional: true } ? ArgValueMap[A['kind']] | undefined : ArgValueMap[A['kind']];
};

export class ArgumentError extends Error {}

export interface SchemaContext {
  /** UTF8=ACCEPT enabled: mailbox names arrive in UTF-8, not modified UTF-7. */
  readonly utf8: boolean;
}

export function tokenText(token: ImapToken): string | undefined {
  if (token.kind === 'atom' && !token.section) return token.value;
  if (token.kind === 'string') return token.value.toString('utf8');
  return undefined;
}

const numberPattern = /^\d{1,20}$/;

function shapeMatches(kind: ArgKind, token: ImapToken): boolean {
  switch (kind) {
    case 'atom':
      return token.kind === 'atom' && !token.section;
    case 'astring':
    case 'mailbox':
    case 'pattern':
      return (token.kind === 'atom' && !token.section) || token.kind === 'string';
    case 'string':
      return token.kind === 'string';
    case 'sequenceSet':
      return token.kind === 'atom' && (token.value === '$' || isSequenceSetSyntax(token.value));
    case 'number':
      return token.kind === 'atom' && numberPattern.test(token.value);
    case 'list':
    case 'flags':
      return token.kind === 'list';
    case 'dateTime':
      return token.kind === 'string' && !token.literal;
    case 'literal':
      return token.kind === 'string' && token.literal;
    case 'rest':
      return true;
  }
}

/**
 * A well-formed name that is not valid modified UTF-7 (a bare "&", say) names no mailbox: the
 * command is fine, so the answer is NO, not BAD (some clients drop the connection on a BAD).
 */
function refuseInvalidUtf7(spec: ArgSpec, wire: string, context: SchemaContext): void {
  if (context.utf8) return;
  try {
    decodeMailboxUtf7(wire);
  } catch (error) {
    if (!(error instanceof Utf7Error)) throw error;
    if (!error.notModifiedUtf7) return; // 8-bit names stay a syntax error (BAD), below
    if (spec.creates) throw new CommandFailure('NO', `${error.message}; no such mailbox can be created`, 'CANNOT');
    throw new CommandFailure('NO', `${error.message}, so no such mailbox exists`, 'NONEXISTENT');
  }
}

function decodeName(spec: ArgSpec, token: ImapToken, context: SchemaContext): string {
  try {
    return decodeMailboxToken(token, context.utf8)!;
  } catch (error) {
    if (error instanceof MailboxNameError) throw new ArgumentError(`${spec.name}: ${error.message}`);
    throw error;
  }
}

function convert(spec: ArgSpec, token: ImapToken, context: SchemaContext): unknown {
  switch (spec.kind) {
    case 'atom':
    case 'astring':
    case 'string':
      return tokenText(token);
    case 'mailbox':
      refuseInvalidUtf7(spec, tokenText(token)!, context);
      return decodeName(spec, token, context);
    case 'pattern':
      return decodeName(spec, token, context);
    case 'sequenceSet':
      if ((token as { value: string }).value === '$') return savedResultSet;
      try {
        return parseSequenceSet((token as { value: string }).value);
      } catch (error) {
        if (error instanceof SequenceSetError) throw new ArgumentError(`${spec.name}: ${error.message}`);
        throw error;
      }
    case 'number': {
      const value = Number((token as { value: string }).value);
      if (!Number.isSafeInteger(value)) throw new ArgumentError(`${spec.name} is too large`);
      return value;
    }
    case 'list':
      return (token as { items: readonly ImapToken[] }).items;
    case 'flags': {
      const items = (token as { items: readonly ImapToken[] }).items;
      if (items.some((item) => item.kind !== 'atom' || item.section)) throw new ArgumentError('flags must be atoms');
      try {
        return canonicalFlags(items.map((item) => (item as { value: string }).value));
      } catch (error) {
        if (error instanceof FlagError) throw new ArgumentError(error.message);
        throw error;
      }
    }
    case 'dateTime': {
      const ms = parseImapDateTime(tokenText(token)!);
      if (ms === undefined) throw new ArgumentError(`${spec.name} is not a valid date-time (expected "dd-Mon-yyyy hh:mm:ss +zzzz")`);
      return ms;
    }
    case 'literal':
      return (token as { value: Buffer }).value;
    case 'rest':
      return token;
  }
}

/** Matches tokens against a schema; throws ArgumentError naming what is wrong. */
export function applySchema<S extends ArgSchema>(schema: S, tokens: readonly ImapToken[], context: SchemaContext): ArgsOf<S> {
  const values: Record<string, unknown> = {};
  let index = 0;
  for (const spec of schema) {
    if (spec.kind === 'rest') {
      values[spec.name] = tokens.slice(index);
      index = tokens.length;
      continue;
    }
    const token = tokens[index];
    if (token && shapeMatches(spec.kind, token)) {
      values[spec.name] = convert(spec, token, context);
      index++;
    } else if (spec.optional) {
      values[spec.name] = undefined;
    } else if (!token) {
      throw new ArgumentError(`missing argument: ${spec.name}`);
    } else {
      throw new ArgumentError(`invalid ${spec.name}`);
    }
  }
  if (index < tokens.length) throw new ArgumentError('too many arguments');
  return values as ArgsOf<S>;
}
