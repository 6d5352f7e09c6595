// The layout's rules, checked mechanically (STYLE.md): imports flow
// protocol <- crypto <- {overlay, storage, mail} <- machines <- actors <- lab <- scenarios <- bench, cli;
// adapters in infra/ depend only on ports and protocol/; pure code never reads time or randomness
// directly; nothing imports the post command (cli/), and only the command imports the benchmarks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PORTS = ['infra/ports', 'infra/store/port'];

/** Folders each layer may import from (besides npm packages and node builtins). */
const ALLOWED: Record<string, string[]> = {
  protocol: ['protocol'],
  crypto: ['protocol', 'crypto', ...PORTS],
  overlay: ['protocol', 'crypto', 'overlay', ...PORTS],
  storage: ['protocol', 'crypto', 'storage', ...PORTS],
  mail: ['protocol', 'crypto', 'mail', ...PORTS],
  machines: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', ...PORTS],
  actors: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra'],
  infra: ['protocol', 'infra'],
  lab: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra', 'lab'],
  scenarios: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra', 'lab', 'scenarios'],
  bench: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra', 'lab', 'scenarios', 'bench'],
};
/** Type-only imports adapters may make (shapes of what they persist). */
const INFRA_TYPE_ONLY = ['crypto', 'storage'];
const PURE = ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines'];

function files(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gm;

function imports(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { target: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4]!;
    if (!spec.startsWith('.')) continue;
    out.push({ target: relative(ROOT, resolve(dirname(file), spec)), typeOnly: m[2] !== undefined });
  }
  return out;
}

describe('architecture', () => {
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    test(`${layer}/ imports only from ${allowed.join(', ')}`, () => {
      const bad: string[] = [];
      for (const file of files(join(ROOT, layer))) {
        for (const { target, typeOnly } of imports(file)) {
          const ok = allowed.some((a) => target === a || target.startsWith(`${a}/`)) || (layer === 'infra' && typeOnly && INFRA_TYPE_ONLY.some((a) => target.startsWith(`${a}/`)));
          if (!ok) bad.push(`${relative(ROOT, file)} -> ${target}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  test('pure code takes time and randomness only through ports', () => {
    const bad: string[] = [];
    for (const layer of PURE)
      for (const file of files(join(ROOT, layer))) {
        const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
        if (/Date\.now\(|Math\.random\(|new Date\(\)|\bsetTimeout\(|\bsetInterval\(|\bsetImmediate\(/.test(text)) bad.push(relative(ROOT, file));
      }
    expect(bad).toEqual([]);
  });

  test('only crypto/ calls libsodium or node:crypto (outside tests and benchmarks, whose baselines call them raw)', () => {
    /** Each exception with its reason. */
    const allowed: Record<string, string> = {
      'infra/random.ts': 'the Random port\'s adapter: operating-system randomness for real nodes and the post command',
    };
    const bad: string[] = [];
    for (const layer of ['protocol', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra', 'cli', 'scenarios'])
      for (const file of files(join(ROOT, layer))) {
        const name = relative(ROOT, file);
        if (name in allowed) continue;
        if (/from\s+'(node:)?crypto'|from\s+'(sodium-native|sodium-plus|libsodium[^']*)'/.test(readFileSync(file, 'utf8'))) bad.push(name);
      }
    expect(bad).toEqual([]);
  });

  test('`as any` only where the allowlist says why (outside tests and benchmarks)', () => {
    /** Each place with its reason, by file: how many casts it may hold. */
    const allowed: Record<string, { count: number; why: string }> = {
      'protocol/codec.ts': { count: 1, why: 'a tagged union\'s decoder: the variant\'s decoded fields plus its tag are the union member, which TypeScript cannot follow through the variant table' },
      'machines/host.ts': { count: 1, why: 'spawn of logic given at run time (RECEIVE): XState types spawn by the machine\'s declared actors' },
    };
    const found: Record<string, number> = {};
    for (const layer of ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'infra', 'lab', 'scenarios', 'cli'])
      for (const file of files(join(ROOT, layer))) {
        const n = (readFileSync(file, 'utf8').match(/\bas any\b/g) ?? []).length;
        if (n > 0) found[relative(ROOT, file)] = n;
      }
    const over = Object.entries(found).filter(([file, n]) => n > (allowed[file]?.count ?? 0)).map(([file, n]) => `${file}: ${n} (allowed ${allowed[file]?.count ?? 0})`);
    expect(over).toEqual([]);
  });

  test('unit tests never wait on the wall clock: no sleeps, no real timers, no elapsed times (STYLE: drive machines instead)', () => {
    /** Each exception with its reason. */
    const allowed: Record<string, string> = {
      'test/unit/users/fixtures.ts': 'TestClock, a Clock adapter: the code under test sets its timers there; the tests never wait on them',
      'test/unit/imap/backend.compliance.ts': 'being rewritten by another change; its 20 and 50 ms waits go then',
    };
    const WAITS = [
      /(?<![.\w])(setTimeout|setInterval)\s*\((?!fn: )/, // the process's timers (a Clock's method declaration aside)
      /\bglobalThis\.(setTimeout|setInterval)\(/,
      /(?<![.\w])sleep\(|\bdelay\(\s*\d/,
      /'(node:)?timers\/promises'/,
      /\b(Date|performance)\.now\(/, // elapsed times and wall-clock deadlines
    ];
    const bad: string[] = [];
    for (const file of files(join(ROOT, 'test', 'unit'))) {
      const name = relative(ROOT, file);
      if (name in allowed) continue;
      readFileSync(file, 'utf8')
        .replace(/\/\/.*$/gm, '')
        .split('\n')
        .forEach((line, i) => WAITS.some((w) => w.test(line)) && bad.push(`${name}:${i + 1}: ${line.trim()}`));
    }
    expect(bad).toEqual([]);
  });

  test('NATS subjects are built only in protocol/subjects.ts', () => {
    const bad: string[] = [];
    for (const layer of ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', 'actors', 'cli', 'scenarios'])
      for (const file of files(join(ROOT, layer))) {
        if (file.endsWith('protocol/subjects.ts')) continue;
        if (/[`'"]post\.[a-z$]/.test(readFileSync(file, 'utf8'))) bad.push(relative(ROOT, file));
      }
    expect(bad).toEqual([]);
  });
});
