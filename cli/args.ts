// Argument parsing shared by every `post` command: node's parseArgs, plus help and usage errors
// that say what to do.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An operating failure the user can act on: printed as one sentence, exit code 1 (the lab's own failures are the same class). */
import { OperatorError as CommandError } from '../lab/errors';
export { CommandError };

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description?: string;
  readonly short?: string;
  readonly multiple?: boolean;
}
export type Options = Record<string, OptionSpec>;

export interface CommandSpec<O extends Options> {
  readonly usage: string;
  readonly summary: string;
  readonly options: O;
  /** Names of positional arguments, for help and checking (a trailing `...` takes the rest). */
  readonly positionals?: readonly string[];
}

/** Declare a command's options once; the parsed values are typed from the declaration. */
export function defineCommand<const O extends Options>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

export function parse<O extends Options>(spec: CommandSpec<O>, argv: string[]) {
  let parsed;
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\nusage: ${spec.usage}`);
  }
  const values = parsed.values as { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K]['multiple'] extends true ? string[] : string } & {
    help?: boolean;
  };
  const want = spec.positionals ?? [];
  const rest = want.length > 0 && want[want.length - 1]!.endsWith('...');
  if (!values.help && (parsed.positionals.length < want.filter((p) => !p.endsWith('?') && !p.endsWith('...')).length || (!rest && parsed.positionals.length > want.length)))
    throw new UsageError(`expected ${want.join(' ') || 'no arguments'}\nusage: ${spec.usage}`);
  return { values, positionals: parsed.positionals, help: values.help === true };
}

export function helpText<O extends Options>(spec: CommandSpec<O>): string {
  const lines = [`usage: ${spec.usage}`, '', spec.summary, ''];
  for (const [name, o] of Object.entries(spec.options)) {
    const desc = (o as { description?: string }).description ?? '';
    lines.push(`  --${name}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(28) + desc);
  }
  return lines.join('\n');
}

/**
 * `post NAME SUB` where SUB is not one of the command's subcommands: `--help`, `-h` or `help` prints
 * every subcommand's usage and summary (exit 0); anything else (or nothing) is an error listing them.
 */
export function subcommandHelp(name: string, sub: string | undefined, specs: readonly { usage: string; summary: string }[]): void {
  if (sub === '--help' || sub === '-h' || sub === 'help') return void console.log(specs.map((s) => `usage: ${s.usage}\n  ${s.summary}`).join('\n\n'));
  throw new CommandError(`${sub ? `unknown command ${sub}` : 'which one?'}\nusage: ${specs.map((s) => s.usage).join('\n       ')}\n(post ${name} --help says more)`);
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required\nusage: ${usage}`);
  return value;
}

export function intOption(value: string | undefined, flag: string, fallback: number, range: { min: number; max: number }): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || n > range.max) throw new UsageError(`--${flag} must be a whole number from ${range.min} to ${range.max}, got ${value}`);
  return n;
}

/** Print one JSON document on stdout (the `--json` contract). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
