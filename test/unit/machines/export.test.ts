// `post machines export`: every machines/*.machine.ts is in the registry, and each exported JSON is a
// machine createMachine() loads back into the same statechart (same states, same transitions).
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { type AnyStateMachine, type AnyStateNode, createMachine } from 'xstate';
import { countStates, exportMachines, machineConfig, type MachineIndex } from '../../../cli/commands/machines';
import { machineFile, machineNames, machineRegistry } from '../../../machines/index';

const MACHINES_DIR = fileURLToPath(new URL('../../../machines/', import.meta.url));
const POST = fileURLToPath(new URL('../../../bin/post', import.meta.url));
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'post-machines-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A named guard by its name, and/or/not by theirs, an inline function (code, not data) as '*'. */
function guardName(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return 'guards' in guard ? guard.name : '*';
  const type = (guard as { type: string }).type;
  return type === 'inline' ? '*' : type;
}

/** Every state node's id, and every transition as "source --EVENT[guard]--> targets", eventless ones included. */
function shape(machine: AnyStateMachine): { states: string[]; transitions: string[] } {
  const states: string[] = [];
  const transitions: string[] = [];
  const describe = (source: string, event: string, t: { target?: readonly AnyStateNode[]; guard?: unknown }) => {
    return `${source} --${event}[${guardName(t.guard)}]--> ${(t.target ?? []).map((n) => n.id).join(',')}`;
  };
  const walk = (node: AnyStateNode) => {
    states.push(`${node.id}:${node.type}`);
    for (const [event, ts] of node.transitions) for (const t of ts) transitions.push(describe(node.id, event, t));
    for (const t of node.always ?? []) transitions.push(describe(node.id, '(always)', t));
    Object.values(node.states as Record<string, AnyStateNode>).forEach(walk);
  };
  walk(machine.root);
  return { states: states.sort(), transitions: transitions.sort() };
}

describe('machine registry', () => {
  test('every machines/*.machine.ts file has an entry in machines/index.ts, and every entry a file', () => {
    const files = readdirSync(MACHINES_DIR).filter((f) => f.endsWith('.machine.ts')).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(machineNames.map(machineFile).sort()).toEqual(files);
  });

  test('each entry is the machine its file exports, with a one-line description', async () => {
    for (const name of machineNames) {
      const mod = (await import(join(MACHINES_DIR, machineFile(name)))) as Record<string, unknown>;
      expect(Object.values(mod), `machines/${machineFile(name)} exports the registered machine`).toContain(machineRegistry[name].machine);
      expect(machineRegistry[name].description).toMatch(/^[^\n]{10,200}$/);
    }
  });
});

describe('machines export', () => {
  const dir = tempDir();
  const index = exportMachines(dir);

  test('writes one JSON file per machine and an index.json listing them', () => {
    expect(readdirSync(dir).sort()).toEqual([...machineNames.map((n) => `${n}.json`), 'index.json'].sort());
    const onDisk = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as MachineIndex;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(index)));
    expect(onDisk.machines.map((m) => m.name)).toEqual(machineNames);
    for (const m of onDisk.machines) {
      expect(m.file).toBe(`${m.name}.json`);
      expect(m.states).toBe(countStates(machineRegistry[m.name].machine.root));
      expect(m.states).toBeGreaterThan(0);
      expect(m.description).toBe(machineRegistry[m.name].description);
    }
  });

  for (const name of machineNames) {
    test(`${name}: the exported JSON has states and createMachine() loads it back into the same statechart`, () => {
      const original = machineRegistry[name].machine;
      const json = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      expect(json.id).toBe(original.id);
      expect(Object.keys(json.states ?? {}).length).toBeGreaterThan(0);

      const loaded = createMachine(json);
      expect(shape(loaded)).toEqual(shape(original));
      // What toJSON() says (it leaves out eventless transitions) agrees too, and the export is a fixed point.
      const toJsonTransitions = (m: AnyStateMachine) => JSON.stringify(m.toJSON(), (k, v) => (k === 'actions' || k === 'guard' || k === 'meta' ? undefined : v));
      expect(toJsonTransitions(loaded)).toBe(toJsonTransitions(original));
      expect(JSON.parse(JSON.stringify(machineConfig(loaded)))).toEqual(json);
    });
  }

  test('effects keep their names: named actions, guards and delays survive the export', () => {
    const router = JSON.stringify(JSON.parse(readFileSync(join(dir, 'router.json'), 'utf8')));
    expect(router).toContain('"guard":"canRetryJoin"');
    expect(router).toContain('"joinTimeout"');
    const store = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
    expect(store.states.opening.on.FAILED).toEqual({ target: 'failed', actions: ['recordError'] });
    expect(store.states.closed.type).toBe('final');
  });
});

describe('post machines export (the command)', () => {
  test('writes the files into a new folder and prints the index with --json', async () => {
    const out = join(tempDir(), 'nested', 'machines');
    const { stdout } = await promisify(execFile)(POST, ['machines', 'export', '--out', out, '--json'], { timeout: 60_000 });
    const printed = JSON.parse(stdout) as MachineIndex & { out: string };
    expect(printed.out).toBe(out);
    expect(printed.machines.map((m) => m.name)).toEqual(machineNames);
    for (const m of printed.machines) expect(JSON.parse(readFileSync(join(out, m.file), 'utf8')).id).toBe(m.id);
  });

  test('without --out it says what is missing, with a usage exit code', async () => {
    const r = await promisify(execFile)(POST, ['machines', 'export'], { timeout: 60_000 }).catch((e) => e as { code: number; stderr: string });
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('--out is required');
  });
});
