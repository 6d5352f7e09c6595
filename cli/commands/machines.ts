// `post machines export --out DIR`: one JSON file per machine of machines/index.ts, for the XState
// visualizer (DESIGN section 7), and an index.json listing them.
//
// Each file is the definition machine.toJSON() describes, written in the config form createMachine()
// reads: toJSON() itself gives xstate's resolved definition (initial as a transition object, `after`
// and invoke transitions folded into `on`, eventless `always` transitions left out), which neither
// createMachine() nor the visualizer can open. Effects keep their names; an inline function becomes
// { type: its name } (or 'inline'), since code is not data.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { machineFile, machineNames, machineRegistry, type MachineName } from '../../machines/index';
import { CommandError, defineCommand, helpText, parse, printJson, required, subcommandHelp } from '../args';

const exportSpec = defineCommand({
  usage: 'post machines export --out DIR [--json]',
  summary:
    'Write every machine definition (machines/*.machine.ts) as DIR/NAME.json, loadable by XState\'s createMachine() and the Stately visualizer, and DIR/index.json listing them.',
  options: {
    out: { type: 'string', description: 'folder for the JSON files (created if missing)' },
    json: { type: 'boolean', description: 'print the index as JSON' },
  },
});

export interface MachineIndexEntry {
  readonly name: MachineName;
  /** The machine's root id. */
  readonly id: string;
  /** The JSON file, relative to the index. */
  readonly file: string;
  /** The TypeScript source, relative to the repository. */
  readonly source: string;
  /** State nodes below the root. */
  readonly states: number;
  /** Distinct event types the machine handles (xstate's internal events not counted). */
  readonly events: number;
  readonly description: string;
}

export interface MachineIndex {
  readonly generatedBy: string;
  readonly machines: MachineIndexEntry[];
}

export async function machinesCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'export') return subcommandHelp('machines', sub, [exportSpec]);
  const { values, help } = parse(exportSpec, rest);
  if (help) return void console.log(helpText(exportSpec));
  const out = resolve(required(values.out, 'out', exportSpec.usage));
  const index = exportMachines(out);
  if (values.json) printJson({ out, ...index });
  else {
    for (const m of index.machines) console.log(`${m.file.padEnd(22)} ${String(m.states).padStart(3)} states  ${m.description}`);
    console.log(`${index.machines.length} machines written to ${out} (index.json lists them)`);
  }
}

/** Write DIR/NAME.json for every registered machine and DIR/index.json; returns the index. */
export function exportMachines(dir: string): MachineIndex {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CommandError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  const machines = machineNames.map((name): MachineIndexEntry => {
    const { machine, description } = machineRegistry[name];
    const file = `${name}.json`;
    write(join(dir, file), machineConfig(machine));
    return { name, id: machine.id, file, source: `machines/${machineFile(name)}`, states: countStates(machine.root), events: eventTypes(machine.root).size, description };
  });
  const index: MachineIndex = { generatedBy: 'post machines export', machines };
  write(join(dir, 'index.json'), index);
  return index;
}

function write(path: string, value: unknown): void {
  try {
    writeFileSync(path, JSON.stringify(value, dropFunctions, 2) + '\n');
  } catch (e) {
    throw new CommandError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

const dropFunctions = (_key: string, value: unknown) => (typeof value === 'function' ? undefined : value);

export function countStates(node: AnyStateNode): number {
  return Object.values(node.states as Record<string, AnyStateNode>).reduce((n, child) => n + 1 + countStates(child), 0);
}

function eventTypes(node: AnyStateNode, into = new Set<string>()): Set<string> {
  for (const type of node.transitions.keys()) if (!type.startsWith('xstate.')) into.add(type);
  for (const child of Object.values(node.states as Record<string, AnyStateNode>)) eventTypes(child, into);
  return into;
}

// ---- definition → config --------------------------------------------------------------------------

type Json = Record<string, unknown>;
type Transition = { source: AnyStateNode; target?: readonly AnyStateNode[]; guard?: unknown; actions: readonly unknown[]; reenter?: boolean; description?: string; meta?: unknown };

/** The machine's definition as a config createMachine() accepts (and the visualizer opens). */
export function machineConfig(machine: AnyStateMachine): Json {
  const config = stateConfig(machine.root, machine.root.id);
  return machine.version ? { ...config, version: machine.version } : config;
}

function stateConfig(node: AnyStateNode, defaultId: string): Json {
  const out: Json = {};
  if (node.parent === undefined || node.id !== defaultId) out.id = node.id;
  if (node.description) out.description = node.description;
  if (node.type === 'parallel' || node.type === 'final' || node.type === 'history') out.type = node.type;
  if (node.type === 'history' && node.history) out.history = node.history;
  if (node.type === 'compound' && node.initial.target[0]) out.initial = node.initial.target[0].key;
  if (node.tags.length > 0) out.tags = [...node.tags];
  if (node.meta !== undefined) out.meta = node.meta;
  const entry = node.entry.filter((a) => !isAfterTimer(a)).map(actionConfig);
  const exit = node.exit.filter((a) => !isAfterTimer(a)).map(actionConfig);
  if (entry.length > 0) out.entry = entry;
  if (exit.length > 0) out.exit = exit;

  // Transitions xstate folded into node.transitions go back where the config states them.
  const folded = new Set<string>();
  const take = (descriptor: string) => {
    folded.add(descriptor);
    return transitionsConfig(node.transitions.get(descriptor));
  };
  if (node.invoke.length > 0) {
    out.invoke = node.invoke.map((def, i) => {
      const invoke: Json = { src: def.src };
      if (def.id !== `${i}.${node.id}`) invoke.id = def.id;
      if (def.systemId) invoke.systemId = def.systemId;
      const onDone = take(`xstate.done.actor.${def.id}`);
      const onError = take(`xstate.error.actor.${def.id}`);
      const onSnapshot = take(`xstate.snapshot.${def.id}`);
      if (onDone) invoke.onDone = onDone;
      if (onError) invoke.onError = onError;
      if (onSnapshot) invoke.onSnapshot = onSnapshot;
      return invoke;
    });
  }
  const onDone = take(`xstate.done.state.${node.id}`);
  if (onDone) out.onDone = onDone;
  const after: Json = {};
  for (const t of node.after) {
    folded.add(t.eventType);
    const key = String(t.delay);
    after[key] = [...((after[key] as Json[] | undefined) ?? []), transitionConfig(t)];
  }
  const on: Json = {};
  for (const [descriptor, transitions] of node.transitions) if (!folded.has(descriptor)) on[descriptor] = transitionsConfig(transitions);
  if (Object.keys(on).length > 0) out.on = on;
  if (Object.keys(after).length > 0) out.after = Object.fromEntries(Object.entries(after).map(([k, ts]) => [k, unwrap(ts as Json[])]));
  const always = transitionsConfig(node.always);
  if (always) out.always = always;
  if (node.type === 'final' && node.output !== undefined && typeof node.output !== 'function') out.output = node.output;

  const children = Object.entries(node.states as Record<string, AnyStateNode>);
  if (children.length > 0) out.states = Object.fromEntries(children.map(([key, child]) => [key, stateConfig(child, `${node.id}.${key}`)]));
  return out;
}

function transitionsConfig(transitions: readonly Transition[] | undefined): unknown {
  return transitions && transitions.length > 0 ? unwrap(transitions.map(transitionConfig)) : undefined;
}

const unwrap = (items: Json[]): Json | Json[] => (items.length === 1 ? items[0]! : items);

function transitionConfig(t: Transition): Json {
  const out: Json = {};
  const targets = (t.target ?? []).map((n) => targetConfig(t.source, n));
  if (targets.length > 0) out.target = targets.length === 1 ? targets[0] : targets;
  if (t.guard !== undefined) out.guard = guardConfig(t.guard);
  const actions = t.actions.map(actionConfig);
  if (actions.length > 0) out.actions = actions;
  if (t.reenter) out.reenter = true;
  if (t.description) out.description = t.description;
  if (t.meta !== undefined) out.meta = t.meta;
  return out;
}

/** A sibling by its key, a child as '.key', anything else by '#id' (as one would write it). */
function targetConfig(source: AnyStateNode, target: AnyStateNode): string {
  if (source.parent && target.parent === source.parent) return target.key;
  if (target.parent === source) return `.${target.key}`;
  return `#${target.id}`;
}

type Fn = ((...args: never[]) => unknown) & Record<string, unknown>;

/** A named guard stays as written; and/or/not keep their parts; an inline guard keeps its name. */
function guardConfig(guard: unknown): unknown {
  if (typeof guard === 'function') {
    const g = guard as Fn;
    if (Array.isArray(g.guards)) return { type: g.name, guards: g.guards.map(guardConfig) };
    if (g.stateValue !== undefined) return { type: 'stateIn', params: { stateValue: g.stateValue } };
    return { type: inlineName(g) };
  }
  return paramsConfig(guard);
}

/** A named action stays as written; xstate's built-ins (assign, raise, ...) become { type }. */
function actionConfig(action: unknown): unknown {
  if (typeof action === 'function') {
    const a = action as Fn;
    return { type: typeof a.type === 'string' ? a.type : inlineName(a) };
  }
  return paramsConfig(action);
}

/** { type, params }: dynamic params (a function of context and event) are code, not data. */
function paramsConfig(ref: unknown): unknown {
  if (ref && typeof ref === 'object' && 'params' in ref && typeof (ref as Json).params === 'function') {
    const { params: _dynamic, ...rest } = ref as Json;
    return rest;
  }
  return ref;
}

const inlineName = (f: Fn): string => (f.name && !['guard', 'actions', 'entry', 'exit'].includes(f.name) ? f.name : 'inline');

/** The raise and cancel xstate adds to entry and exit for each `after` delay (implied by `after`). */
function isAfterTimer(action: unknown): boolean {
  if (typeof action !== 'function') return false;
  const a = action as Fn;
  const id = a.type === 'xstate.raise' ? a.id : a.type === 'xstate.cancel' ? a.sendId : undefined;
  return typeof id === 'string' && id.startsWith('xstate.after.');
}
