// `post ca init`: an organisation: CA keys, ring id, convergence secret, replication factor.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCertificateAuthority } from '../../crypto/certificates';
import { DEFAULT_REPLICATION_FACTOR, readRingTrust, writeOrganisation } from '../../infra/files/identity';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT } from '../../protocol/limits';
import { defineCommand, CommandError, helpText, intOption, parse, printJson, required } from '../args';

const spec = defineCommand({
  usage: 'post ca init --org DOMAIN --out DIR [--replication K] [--force] [--json]',
  summary: 'Create an organisation: its CA key pair, ring id, convergence secret and replication factor.',
  options: {
    org: { type: 'string', description: 'the organisation\'s mail domain, e.g. rice.example' },
    out: { type: 'string', description: 'folder to write the CA into' },
    replication: { type: 'string', description: `replicas per object (default ${DEFAULT_REPLICATION_FACTOR})` },
    'mail-quota': { type: 'string', description: `each user's mail storage limit in bytes, shown by IMAP QUOTA (default ${MAIL_QUOTA_BYTES_PER_USER_DEFAULT})` },
    force: { type: 'boolean', description: 'overwrite an existing CA folder' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
});

export async function initOrganisation(domain: string, out: string, replicationFactor: number, force = false, mailQuotaBytesPerUser?: number) {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(domain))
    throw new CommandError(`--org must be a mail domain like rice.example, got ${domain}`);
  if (existsSync(join(out, 'ca.json')) && !force) throw new CommandError(`${out} already holds a CA; pass --force to replace it (every node certificate it issued becomes invalid)`);
  const ca = await createCertificateAuthority(domain, randomBytes(32));
  writeOrganisation(out, { ca, convergenceSecret: randomBytes(32), replicationFactor, ...(mailQuotaBytesPerUser !== undefined ? { mailQuotaBytesPerUser } : {}) });
  return readRingTrust(out);
}

export async function caCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'init') throw new CommandError(`unknown command: post ca ${sub ?? ''}\nusage: ${spec.usage}`);
  const { values, help } = parse(spec, rest);
  if (help) return void console.log(helpText(spec));
  const out = resolve(required(values.out, 'out', spec.usage));
  const org = required(values.org, 'org', spec.usage);
  const k = intOption(values.replication, 'replication', DEFAULT_REPLICATION_FACTOR, { min: 1, max: 16 });
  const quota = values['mail-quota'] === undefined ? undefined : intOption(values['mail-quota'], 'mail-quota', MAIL_QUOTA_BYTES_PER_USER_DEFAULT, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const trust = await initOrganisation(org, out, k, values.force === true, quota);
  const result = { org: trust.org, ringId: trust.ringId, ca: out, replicationFactor: trust.replicationFactor };
  if (values.json) printJson(result);
  else console.log(`organisation ${trust.org}: ring ${trust.ringId}\nCA written to ${out} (keep ca.secret.json private)`);
}
