// `post block put | get | where`: data into and out of the ring through a lab node (DESIGN 10).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { BlockOpen, BlockPutBegin, BlockPutEnd, BlockPutPiece, BlockRead, BlockWhere } from '../../protocol/control';
import { BLOCK_CHUNK_BYTES_MAX } from '../../protocol/limits';
import { CommandError, defineCommand, helpText, parse, printJson, required, subcommandHelp } from '../args';
import { LabClient } from '../../lab/client';
import { readLab } from '../../lab/labFile';

/** Transfers wait longer than a status request: a piece is stored at a majority before the answer. */
const TRANSFER_TIMEOUT_MS = 120_000;

const common = {
  lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
  node: { type: 'string', description: 'node to go through (default: the first that is ready)' },
  json: { type: 'boolean', description: 'one JSON document on stdout' },
} as const;

const putSpec = defineCommand({
  usage: 'post block put FILE --lab FILE [--node NODEID] [--json]',
  summary: 'Store a file in the ring (convergently encrypted, chunked, replicated): prints {"ref", "id", "replicas"}.',
  options: common,
  positionals: ['FILE'],
});
const getSpec = defineCommand({
  usage: 'post block get REF --lab FILE [--node NODEID] > OUT',
  summary: 'Read data back from the ring by the reference `block put` printed; writes it to stdout.',
  options: common,
  positionals: ['REF'],
});
const whereSpec = defineCommand({
  usage: 'post block where ID --lab FILE [--node NODEID] [--json]',
  summary: 'The nodes that hold a verified copy of block ID now: {"id", "replicas"}.',
  options: common,
  positionals: ['ID'],
});

export async function blockCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'put') return put(rest);
  if (sub === 'get') return get(rest);
  if (sub === 'where') return where(rest);
  return subcommandHelp('block', sub, [putSpec, getSpec, whereSpec]);
}

async function withLab<T>(labPath: string, nodePrefix: string | undefined, body: (c: LabClient, node: Awaited<ReturnType<LabClient['anyNode']>>) => Promise<T>): Promise<T> {
  const client = await LabClient.connect(readLab(resolve(labPath)));
  try {
    return await body(client, await client.anyNode(nodePrefix));
  } finally {
    await client.close();
  }
}

async function put(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(putSpec, argv);
  if (help) return void console.log(helpText(putSpec));
  const file = resolve(positionals[0]!);
  if (!existsSync(file) || !statSync(file).isFile()) throw new CommandError(`${file} is not a readable file`);
  const result = await withLab(required(values.lab, 'lab', putSpec.usage), values.node, async (c, node) => {
    const { session } = await c.ask(node, BlockPutBegin, {});
    let seq = 0;
    for await (const piece of createReadStream(file, { highWaterMark: BLOCK_CHUNK_BYTES_MAX }) as AsyncIterable<Buffer>)
      await c.ask(node, BlockPutPiece, { session, seq: seq++, data: piece }, TRANSFER_TIMEOUT_MS);
    return c.ask(node, BlockPutEnd, { session, pieces: seq }, TRANSFER_TIMEOUT_MS);
  });
  if (values.json) printJson(result);
  else console.log(`${result.ref}\nblock ${result.id} on ${result.replicas.length} replicas`);
}

async function get(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(getSpec, argv);
  if (help) return void console.log(helpText(getSpec));
  await withLab(required(values.lab, 'lab', getSpec.usage), values.node, async (c, node) => {
    const { session } = await c.ask(node, BlockOpen, { ref: positionals[0]! });
    for (;;) {
      const r = await c.controlRaw(node, BlockRead.encode({ session }), TRANSFER_TIMEOUT_MS);
      if (r.done) break;
      if (r.data && !process.stdout.write(r.data)) await new Promise((ok) => process.stdout.once('drain', ok));
    }
  });
}

async function where(argv: string[]): Promise<void> {
  const { values, positionals, help } = parse(whereSpec, argv);
  if (help) return void console.log(helpText(whereSpec));
  const id = positionals[0]!.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new CommandError(`ID must be a block id of 64 hex digits, got ${positionals[0]}`);
  const result = await withLab(required(values.lab, 'lab', whereSpec.usage), values.node, (c, node) => c.ask(node, BlockWhere, { id }, TRANSFER_TIMEOUT_MS));
  if (values.json) printJson(result);
  else console.log(`${result.id}: ${result.replicas.length} verified copies\n${result.replicas.map((r: string) => `  ${r}`).join('\n')}`);
}
