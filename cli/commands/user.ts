// `post user add`: a user with keys, a certificate from the organisation's CA, a keystore under its
// password in the ring, and a node that hosts it (receives its notifications).
import { resolve } from 'node:path';
import { readRingTrust } from '../../infra/files/identity';
import { CommandError, defineCommand, helpText, parse, printJson, required, subcommandHelp } from '../args';
import { LabClient } from '../../lab/client';
import { type LabFile, readLab, writeLab } from '../../lab/labFile';
import { addUser, readPasswordFile } from '../../lab/users';
import { STANDBY_HOSTS_DEFAULT, STANDBY_HOSTS_MAX } from '../../protocol/limits';

const spec = defineCommand({
  usage:
    'post user add ADDRESS --ca DIR --password-file FILE (--lab FILE | --nats URL[,URL...] --nats-creds FILE --nats-ca FILE --node NODEID) [--node NODEID] [--standbys N] [--json]',
  summary: 'Create a user of the CA\'s organisation (keys, certificate, keystore in the ring) hosted on a node.',
  options: {
    ca: { type: 'string', description: 'the organisation\'s CA folder (from `post ca init`)' },
    'password-file': { type: 'string', description: 'file holding the user\'s password (first line)' },
    lab: { type: 'string', description: 'a lab.json: the user is added to it' },
    nats: { type: 'string', description: 'NATS URLs of the ring (instead of --lab)' },
    'nats-creds': { type: 'string', description: 'with --nats: the operator\'s NATS credentials (`post nats init` writes operator.nk)' },
    'nats-ca': { type: 'string', description: 'with --nats: the CA of the NATS servers\' certificates' },
    node: { type: 'string', description: 'node to host the user (default: the first ready node of the organisation)' },
    standbys: { type: 'string', description: `standby hosts: the next N nodes after the home in the ring get the user's keys and deliver while the home is gone (default ${STANDBY_HOSTS_DEFAULT}, 0 for none)` },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
  positionals: ['ADDRESS'],
});

export async function userCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'add') return subcommandHelp('user', sub, [spec]);
  const { values, positionals, help } = parse(spec, rest);
  if (help) return void console.log(helpText(spec));
  const address = positionals[0]!.toLowerCase();
  const caDir = resolve(required(values.ca, 'ca', spec.usage));
  const passwordFile = resolve(required(values['password-file'], 'password-file', spec.usage));
  const password = readPasswordFile(passwordFile);
  const trust = readRingTrust(caDir);
  let lab: LabFile;
  let labPath: string | undefined;
  if (values.lab) {
    labPath = resolve(values.lab);
    lab = readLab(labPath);
  } else if (values.nats) {
    if (!values.node) throw new CommandError('with --nats, say which node hosts the user: --node NODEID (64 hex digits)');
    const natsFiles = {
      ...(values['nats-creds'] ? { natsCreds: resolve(values['nats-creds']) } : {}),
      ...(values['nats-ca'] ? { natsCa: resolve(values['nats-ca']) } : {}),
    };
    lab = { nats: values.nats.split(','), ...natsFiles, natsPidFile: '', orgs: [{ domain: trust.org, ringId: trust.ringId, ca: caDir }], nodes: [{ id: values.node, org: trust.org, pid: 0, data: '', log: '', imap: { host: '', port: 0 }, smtp: { host: '', port: 0 }, http: { host: '', port: 0 } }], users: [] };
  } else throw new CommandError(`give --lab FILE or --nats URL --node NODEID\nusage: ${spec.usage}`);
  const client = await LabClient.connect(lab);
  try {
    const node = await client.anyNode(values.node, trust.org);
    const r = await addUser(client, node, caDir, address, password, { standbys: standbyCount(values.standbys) });
    if (labPath) {
      const fresh = readLab(labPath);
      fresh.users.push({ address: r.address, password, node: r.node, standbys: r.standbys });
      writeLab(labPath, fresh);
    }
    if (values.json) printJson(r);
    else console.log(`user ${r.address} created, hosted on node ${r.node}${r.standbys.length ? `, standby hosts ${r.standbys.map((id) => id.slice(0, 12)).join(', ')}` : ''}`);
  } finally {
    await client.close();
  }
}

function standbyCount(text: string | undefined): number {
  if (text === undefined) return STANDBY_HOSTS_DEFAULT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > STANDBY_HOSTS_MAX) throw new CommandError(`--standbys takes a whole number from 0 to ${STANDBY_HOSTS_MAX}, not ${text}`);
  return n;
}
