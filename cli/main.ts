// The `post` command (DESIGN section 10). Every command has --help; --json prints one JSON document on
// stdout; errors go to stderr as a sentence saying what to do, with a non-zero exit.
import { IdentityFileError } from '../infra/files/identity';
import { CommandError, UsageError } from './args';
import { benchCommand } from './commands/bench';
import { blockCommand } from './commands/block';
import { messageCommand } from './commands/message';
import { userCommand } from './commands/user';
import { caCommand } from './commands/ca';
import { labCommand } from './commands/lab';
import { machinesCommand } from './commands/machines';
import { nodeCommand } from './commands/node';
import { natsCommand } from './commands/nats';
import { ringCommand, routeCommand } from './commands/ring';
import { scenarioCommand } from './commands/scenario';

const commands: Record<string, { run: (argv: string[]) => Promise<void>; summary: string }> = {
  ca: { run: caCommand, summary: 'ca init|operator ...                      an organisation (CA, ring id, secrets, operator key); another operator key' },
  node: { run: nodeCommand, summary: 'node init|start ...                       a node identity; run a node' },
  nats: { run: natsCommand, summary: 'nats init|config ...                      TLS, keys and nats-server configuration for a deployment' },
  lab: { run: labCommand, summary: 'lab up|down|restart ...                   the local lab (NATS cluster + nodes)' },
  ring: { run: ringCommand, summary: 'ring status --lab FILE [--json]           every node: state, leaf set, objects' },
  route: { run: routeCommand, summary: 'route KEYHEX --lab FILE [--from NODEID]   route a probe to the key\'s root' },
  user: { run: userCommand, summary: 'user add ADDRESS --ca DIR --password-file FILE --lab FILE   a user, hosted by a node' },
  message: { run: messageCommand, summary: 'message send|list --lab FILE ...         short messages between users' },
  block: { run: blockCommand, summary: 'block put|get|where ... --lab FILE          data into and out of the ring' },
  machines: { run: machinesCommand, summary: 'machines export --out DIR                 every machine definition as JSON, for the XState visualizer' },
  scenario: { run: scenarioCommand, summary: 'scenario list | run NAME|all [--sim --seed N | --lab FILE]   fault injection, judged by checkers' },
  bench: { run: benchCommand, summary: 'bench NAME|all [--quick] [--phase LIST] [--json]   benchmarks, each against its baseline' },
};

function usage(): string {
  return ['usage: post COMMAND ...', '', ...Object.values(commands).map((c) => `  post ${c.summary}`), '', 'post COMMAND --help for details'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`post: unknown command ${name}\n${usage()}`);
    return 2;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) console.error(`post ${name}: ${e.message}`);
    else if (e instanceof CommandError || e instanceof IdentityFileError) console.error(`post ${name}: ${e.message}`);
    else console.error(`post ${name}: unexpected error: ${(e as Error).stack ?? e}`);
    return e instanceof UsageError ? 2 : e instanceof CommandError ? e.exitCode : 1;
  }
}

// A reader that stops early (`post ... | head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then((code) => {
  // Long-running commands (node start) never resolve; the others exit with their code.
  process.exitCode = code;
  if (code !== 0 || !process.argv.includes('start')) setTimeout(() => process.exit(code), 50).unref();
});
