// `post nats init | config`: NATS for a deployment outside `post lab up` (the compose lab, an
// organisation's own servers). `init` makes the TLS CA and server certificate and the operator's key;
// `config` writes the nats-server configuration: TLS everywhere, an account per organisation with a
// user per node, the global ring's account for gateways, the operator's account (infra/nats/accounts.ts).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { natsServerBody } from '../../infra/nats/config';
import { nkeyPublicKey } from '../../infra/nats/nkeys';
import { CommandError, defineCommand, helpText, parse, printJson, required, subcommandHelp } from '../args';
import { clusterAccounts, initNatsSecurity, natsUserOfNode } from '../../lab/nats';

const initSpec = defineCommand({
  usage: 'post nats init --dir DIR --hosts NAME,... [--json]',
  summary:
    'Make the NATS TLS material (DIR/tls: ca.pem, ca.key, server.pem, server.key for the servers reached as NAME,...) and the operator\'s key (DIR/operator.nk); an existing CA and key are kept.',
  options: {
    dir: { type: 'string', description: 'folder for the NATS files (keep tls/ca.key and operator.nk private)' },
    hosts: { type: 'string', description: 'host names and IP addresses the NATS servers are reached at, comma-separated' },
    json: { type: 'boolean', description: 'print the files as JSON' },
  },
});

const configSpec = defineCommand({
  usage:
    'post nats config --dir DIR --nodes DATADIR,... [--gateways DATADIR,...] [--listen HOST:PORT] [--http HOST:PORT] [--cluster HOST:PORT --routes URL,...] [--cluster-name NAME] [--server-name NAME] [--out FILE]',
  summary: 'Write the nats-server configuration for these nodes (their keys from their data folders), with the TLS files and operator key of `post nats init --dir DIR`.',
  options: {
    dir: { type: 'string', description: 'the folder `post nats init` wrote' },
    nodes: { type: 'string', description: 'data folders of the nodes (from `post node init`), comma-separated' },
    gateways: { type: 'string', description: 'data folders of the nodes that run with --gateway (they also get a user in the global ring)' },
    listen: { type: 'string', description: 'client address (default 0.0.0.0:4222)' },
    http: { type: 'string', description: 'monitoring address (default 127.0.0.1:8222)' },
    cluster: { type: 'string', description: 'route address of a cluster member, e.g. 0.0.0.0:6222' },
    routes: { type: 'string', description: 'route URLs of every member (nats-route://HOST:6222), comma-separated' },
    'cluster-name': { type: 'string', description: 'the cluster\'s name (default post)' },
    'server-name': { type: 'string', description: 'this server\'s name (otherwise give --server_name to nats-server)' },
    out: { type: 'string', description: 'write here (default: stdout)' },
  },
});

function hostPort(value: string, option: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new CommandError(`--${option} must be HOST:PORT, got ${value}`);
  return { host: m[1]!, port: Number(m[2]) };
}

const folders = (value: string | undefined) => (value ?? '').split(',').map((d) => d.trim()).filter(Boolean).map((d) => resolve(d));

export async function natsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'init') {
    const { values, help } = parse(initSpec, rest);
    if (help) return void console.log(helpText(initSpec));
    const dir = resolve(required(values.dir, 'dir', initSpec.usage));
    const hosts = required(values.hosts, 'hosts', initSpec.usage).split(',').map((h) => h.trim()).filter(Boolean);
    const files = initNatsSecurity(dir, hosts);
    const result = { ca: files.tls.caFile, cert: files.tls.certFile, key: files.tls.keyFile, operatorCreds: files.operatorCreds, operatorUser: nkeyPublicKey(files.operatorCreds) };
    if (values.json) printJson(result);
    else console.log(`NATS CA ${result.ca} (give it to every node: post node init --nats-ca)\nserver certificate ${result.cert} for ${hosts.join(', ')}\noperator key ${result.operatorCreds} (natsCreds)`);
    return;
  }
  if (sub === 'config') {
    const { values, help } = parse(configSpec, rest);
    if (help) return void console.log(helpText(configSpec));
    const dir = resolve(required(values.dir, 'dir', configSpec.usage));
    const nodes = folders(required(values.nodes, 'nodes', configSpec.usage));
    const gateways = folders(values.gateways);
    for (const g of gateways) if (!nodes.includes(g)) throw new CommandError(`--gateways names ${g}, which is not in --nodes`);
    if ((values.cluster === undefined) !== (values.routes === undefined)) throw new CommandError('--cluster and --routes go together: a cluster member listens for routes and connects to the others');
    const users = nodes.map((d) => natsUserOfNode(d, gateways.includes(d)));
    const listen = hostPort(values.listen ?? '0.0.0.0:4222', 'listen');
    const tls = { caFile: join(dir, 'tls', 'ca.pem'), certFile: join(dir, 'tls', 'server.pem'), keyFile: join(dir, 'tls', 'server.key') };
    for (const file of [...Object.values(tls), join(dir, 'operator.nk')])
      if (!existsSync(file)) throw new CommandError(`no ${file}: run \`post nats init --dir ${dir} --hosts ...\` first`);
    const body = natsServerBody({
      ...listen,
      http: hostPort(values.http ?? '127.0.0.1:8222', 'http'),
      tls,
      ...(values.cluster ? { cluster: { name: values['cluster-name'] ?? 'post', ...hostPort(values.cluster, 'cluster'), routes: values.routes!.split(',').map((r) => r.trim()).filter(Boolean) } } : {}),
      accounts: clusterAccounts({ rings: [...new Set(users.map((u) => u.ringId))], nodes: users, operatorCreds: join(dir, 'operator.nk') }),
    });
    const text = [
      '# nats-server configuration for POST (written by `post nats config`): TLS on every port, an account per',
      '# organisation with a user per node, the global ring\'s account for gateways, the operator\'s account.',
      '# Adding a node: `post node init`, then this command again and `nats-server --signal reload`.',
      ...(values['server-name'] ? [`server_name: ${JSON.stringify(values['server-name'])}`] : []),
      ...body,
    ].join('\n') + '\n';
    if (values.out) {
      mkdirSync(dirname(resolve(values.out)), { recursive: true });
      writeFileSync(resolve(values.out), text, { mode: 0o600 });
    } else process.stdout.write(text);
    return;
  }
  return subcommandHelp('nats', sub, [initSpec, configSpec]);
}
