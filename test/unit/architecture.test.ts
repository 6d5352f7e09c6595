// The layout's rules, checked mechanically (STYLE.md): imports flow
// protocol <- crypto <- {overlay, storage, mail, dav, xmpp} <- machines <- actors <- lab <- scenarios <- bench, cli;
// adapters in infra/ depend only on ports and protocol/; pure code never reads time or randomness
// directly; nothing imports the post command (cli/), and only the command imports the benchmarks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
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
  // The CalDAV core: protocol bounds and its own modules; storage only through its port (dav/backend.ts).
  dav: ['protocol', 'dav'],
  // The XMPP core (issue 17): protocol bounds, SCRAM from crypto, the roster's record shape; the node only through its ports (xmpp/ports.ts).
  xmpp: ['protocol', 'crypto', 'storage/xmpp', 'xmpp'],
  machines: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'machines', ...PORTS],
  actors: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines', 'actors', 'infra'],
  infra: ['protocol', 'infra'],
  lab: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines', 'actors', 'infra', 'lab'],
  scenarios: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines', 'actors', 'infra', 'lab', 'scenarios'],
  bench: ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines', 'actors', 'infra', 'lab', 'scenarios', 'bench'],
};
/** Type-only imports adapters may make (shapes of what they persist). */
const INFRA_TYPE_ONLY = ['crypto', 'storage'];
const PURE = ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines'];
/** The code the project ships (tests and benchmarks aside). */
const SHIPPED = ['protocol', 'crypto', 'overlay', 'storage', 'mail', 'dav', 'xmpp', 'machines', 'actors', 'infra', 'lab', 'scenarios', 'cli'];
/** Characters in a line at most: what all but a handful of today's lines keep (measured 2026-12). */
const LINE_CHARS_MAX = 240;
/** Lines in a function's body at most (nested functions count within it too): all but seven keep it. */
const FUNCTION_LINES_MAX = 80;

/** Each function's name (what a reader would search for) and how many lines its body spans. */
function functionLengths(file: string): { name: string; lines: number }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const line = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const nameOf = (n: ts.Node): string => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isAccessor(n)) && n.name) return n.name.getText(source);
    if (ts.isConstructorDeclaration(n)) return 'constructor';
    const p = n.parent;
    return (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) ? p.name.getText(source) : '<anonymous>';
  };
  const out: { name: string; lines: number }[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body && ts.isBlock(n.body as ts.Node)) {
      const body = n.body as ts.Block;
      out.push({ name: nameOf(n), lines: line(body.end) - line(body.getStart(source)) + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(source);
  return out;
}

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

  test('the in-memory backends (mail/memory/, storage/memory/) are harnesses: nothing shipped imports them', () => {
    const HARNESSES = ['mail/memory', 'storage/memory'];
    const bad: string[] = [];
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer))) {
        const name = relative(ROOT, file);
        if (HARNESSES.some((h) => name.startsWith(`${h}/`))) continue;
        for (const { target } of imports(file)) if (HARNESSES.some((h) => target === h || target.startsWith(`${h}/`))) bad.push(`${name} -> ${target}`);
      }
    expect(bad).toEqual([]);
  });

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
    for (const layer of SHIPPED.filter((l) => l !== 'crypto'))
      for (const file of files(join(ROOT, layer))) {
        const name = relative(ROOT, file);
        if (name in allowed) continue;
        if (/from\s+'(node:)?crypto'|from\s+'(sodium-native|sodium-plus|libsodium[^']*)'/.test(readFileSync(file, 'utf8'))) bad.push(name);
      }
    expect(bad).toEqual([]);
  });

  test('randomness comes from crypto/ or the Random port in everything shipped (no Math.random, no Web Crypto draws)', () => {
    const bad: string[] = [];
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer))) {
        const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
        if (/Math\.random\(|\bgetRandomValues\(|\brandomUUID\(/.test(text)) bad.push(relative(ROOT, file));
      }
    expect(bad).toEqual([]);
  });

  test('`as any` only where the allowlist says why (outside tests and benchmarks)', () => {
    /** Each place with its reason, by file: how many casts it may hold. */
    const allowed: Record<string, { count: number; why: string }> = {
      'protocol/codec.ts': { count: 1, why: 'a tagged union\'s decoder: the variant\'s decoded fields plus its tag are the union member, which TypeScript cannot follow through the variant table' },
    };
    const found: Record<string, number> = {};
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer))) {
        const n = (readFileSync(file, 'utf8').match(/\bas any\b/g) ?? []).length;
        if (n > 0) found[relative(ROOT, file)] = n;
      }
    const over = Object.entries(found).filter(([file, n]) => n > (allowed[file]?.count ?? 0)).map(([file, n]) => `${file}: ${n} (allowed ${allowed[file]?.count ?? 0})`);
    expect(over).toEqual([]);
  });

  test('no `: any` annotation in machines/ or crypto/ (XState and sodium-native calls are typed; see supervisor.machine.ts, sodium.ts)', () => {
    const bad: string[] = [];
    for (const layer of ['machines', 'crypto'])
      for (const file of files(join(ROOT, layer)))
        readFileSync(file, 'utf8')
          .replace(/\/\/.*$/gm, '')
          .split('\n')
          .forEach((line, i) => /:\s*any\b|<any>/.test(line) && bad.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`));
    expect(bad).toEqual([]);
  });

  test('unit tests never wait on the wall clock: no sleeps, no real timers, no elapsed times (STYLE: drive machines instead)', () => {
    /** Each exception with its reason. */
    const allowed: Record<string, string> = {
      'test/unit/users/fixtures.ts': 'TestClock, a Clock adapter: the code under test sets its timers there; the tests never wait on them',
      'test/unit/imap/backend.compliance.ts': "eventually(): bounded polling for the log-backed runner, whose changes arrive after real crypto and I/O; no fixed waits (absence is shown against a watcher that did hear)",
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

  test(`lines fit in ${LINE_CHARS_MAX} characters (outside tests and benchmarks)`, () => {
    /** Each exception with its reason. */
    const allowed: Record<string, string> = {
      'cli/commands/node.ts': 'the usage line, kept as the one line `post node start --help` prints',
      'cli/commands/scenario.ts': 'the usage text and a report line, kept as printed',
      'cli/commands/user.ts': 'a lab description for one user command, one object literal (to be wrapped)',
      'cli/dashboard/page.ts': 'the browser script inside a template literal, which builds its SVG by concatenation',
      'scenarios/env/labEnv.ts': 'a warning printed as one line',
    };
    const bad: string[] = [];
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer))) {
        const name = relative(ROOT, file);
        if (name in allowed) continue;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((text, i) => text.length > LINE_CHARS_MAX && bad.push(`${name}:${i + 1}: ${text.length} characters`));
      }
    expect(bad).toEqual([]);
  });

  test(`functions fit in ${FUNCTION_LINES_MAX} lines (outside tests and benchmarks)`, () => {
    /** Each exception, as file#function, with its reason. */
    const allowed: Record<string, string> = {
      'actors/nodeProcess.ts#runNodeProcess': 'a node process in the order it must come up: files, signals, NATS, the node',
      'actors/mail/smtpServer.ts#startSmtpServer': "smtp-server's options, whose callbacks close over the session table",
      'actors/mail/imapServer.ts#startImapServer': 'the IMAP listener, whose callbacks close over the connection table',
      'cli/commands/lab.ts#labUp': "the lab's start, step by step with what it tells the operator",
      'mail/imap/sort/thread.ts#referencesThreads': "RFC 5256 REFERENCES threading: the RFC's steps in its order",
      'mail/imap/search/searchProgram.ts#parseKey': 'one case per RFC 3501 search key',
    };
    const bad: string[] = [];
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer)))
        for (const { name, lines } of functionLengths(file)) {
          const key = `${relative(ROOT, file)}#${name}`;
          if (lines > FUNCTION_LINES_MAX && !(key in allowed)) bad.push(`${key}: ${lines} lines`);
        }
    expect(bad).toEqual([]);
  });

  test('NATS subjects are built only in protocol/subjects.ts', () => {
    const bad: string[] = [];
    for (const layer of SHIPPED)
      for (const file of files(join(ROOT, layer))) {
        if (file.endsWith('protocol/subjects.ts')) continue;
        if (/[`'"]post\.[a-z$]/.test(readFileSync(file, 'utf8'))) bad.push(relative(ROOT, file));
      }
    expect(bad).toEqual([]);
  });
});
