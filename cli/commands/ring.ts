// `post ring status` and `post route`: the operator's view of a running lab's rings.
import { resolve } from 'node:path';
import { defineCommand, CommandError, helpText, parse, printJson, required, subcommandHelp } from '../args';
import { LabClient } from '../../lab/client';
import { findNode, readLab } from '../../lab/labFile';
import { isAlive } from '../../infra/nats/process';

const statusSpec = defineCommand({
  usage: 'post ring status --lab FILE [--json]',
  summary: 'Every node of the lab: id, organisation, state, leaf set, objects and bytes held.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
});

const routeSpec = defineCommand({
  usage: 'post route KEYHEX --lab FILE [--from NODEID] [--json]',
  summary: 'Route a probe to the node numerically closest to KEYHEX (64 hex digits) and show the path.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    from: { type: 'string', description: 'node to start from (default: the first that answers)' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
  positionals: ['KEYHEX'],
});

export async function ringCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'status') return subcommandHelp('ring', sub, [statusSpec]);
  const { values, help } = parse(statusSpec, rest);
  if (help) return void console.log(helpText(statusSpec));
  const lab = readLab(resolve(required(values.lab, 'lab', statusSpec.usage)));
  const client = await LabClient.connect(lab);
  try {
    const nodes = await Promise.all(
      lab.nodes.map(async (n) => {
        try {
          const s = await client.status(n, 3000);
          return { id: n.id, org: n.org, state: s.state, leafSet: s.leafSet, objects: s.objects, bytes: s.bytes, actors: s.actors, restarts: s.restarts, ...(s.global ? { global: s.global } : {}) };
        } catch (e) {
          return { id: n.id, org: n.org, state: isAlive(n.pid) ? 'unreachable' : 'down', error: (e as Error).message, leafSet: [], objects: 0, bytes: 0 };
        }
      }),
    );
    if (values.json) printJson({ nodes });
    else
      for (const n of nodes)
        console.log(
          `${n.id.slice(0, 16)}  ${n.org.padEnd(16)} ${String(n.state).padEnd(12)} leaf set ${n.leafSet.length}  objects ${n.objects}  bytes ${n.bytes}` +
            ('global' in n && n.global ? `  global ring: ${n.global.state}, ${n.global.leafSet.length} gateways` : ''),
        );
  } finally {
    await client.close();
  }
}

export async function routeCommand(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(routeSpec, argv);
  if (help) return void console.log(helpText(routeSpec));
  const key = positionals[0]!.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(key)) throw new CommandError(`KEYHEX must be 64 hex digits (a 256-bit key), got ${positionals[0]}`);
  const lab = readLab(resolve(required(values.lab, 'lab', routeSpec.usage)));
  const client = await LabClient.connect(lab);
  try {
    const candidates = values.from ? [findNode(lab, values.from)] : lab.nodes.filter((n) => isAlive(n.pid));
    let lastError: Error | undefined;
    for (const from of candidates) {
      try {
        const r = await client.route(from, key);
        if (values.json) printJson(r);
        else console.log(`${r.key}\n  root ${r.root}\n  hops ${r.hops}: ${r.path.map((p: string) => p.slice(0, 12)).join(' -> ')}`);
        return;
      } catch (e) {
        lastError = e as Error;
      }
    }
    throw new CommandError(`no node could route the key: ${lastError?.message ?? 'the lab has no running node'}`);
  } finally {
    await client.close();
  }
}
