// `post ca init`: an organisation: CA keys, ring id, convergence secret, replication factor, and the
// first operator key (operator.json), which the `post` command signs control requests with.
// `post ca operator`: another operator key certified by the CA (a name, roles, a validity).
import { osRandom } from '../../infra/random';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CertificateAuthority, createCertificateAuthority, issueOperatorCertificate } from '../../crypto/certificates';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import { DEFAULT_REPLICATION_FACTOR, OPERATOR_FILE, readOrganisation, readRingTrust, writeOperator, writeOrganisation } from '../../infra/files/identity';
import { OPERATOR_ROLES, type OperatorCertificate, type OperatorRole } from '../../protocol/identity';
import { MAIL_QUOTA_BYTES_PER_USER_DEFAULT } from '../../protocol/limits';
import { defineCommand, CommandError, helpText, intOption, parse, printJson, required, subcommandHelp } from '../args';

const spec = defineCommand({
  usage: 'post ca init --org DOMAIN --out DIR [--replication K] [--force] [--json]',
  summary: 'Create an organisation: its CA key pair, ring id, convergence secret, replication factor and first operator key (DIR/operator.json).',
  options: {
    org: { type: 'string', description: 'the organisation\'s mail domain, e.g. rice.example' },
    out: { type: 'string', description: 'folder to write the CA into' },
    replication: { type: 'string', description: `replicas per object (default ${DEFAULT_REPLICATION_FACTOR})` },
    'mail-quota': { type: 'string', description: `each user's mail storage limit in bytes, shown by IMAP QUOTA (default ${MAIL_QUOTA_BYTES_PER_USER_DEFAULT})` },
    force: { type: 'boolean', description: 'overwrite an existing CA folder' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
});

const operatorSpec = defineCommand({
  usage: 'post ca operator --ca DIR --name NAME --out FILE [--roles ROLE,...] [--days N] [--json]',
  summary: 'Certify a new operator key with the CA in DIR: the file the `post` command signs control requests with.',
  options: {
    ca: { type: 'string', description: 'the CA folder written by `post ca init`' },
    name: { type: 'string', description: 'a name for the operator, shown in node logs (e.g. alice-laptop)' },
    out: { type: 'string', description: 'the operator file to write (keep it private: mode 0600)' },
    roles: { type: 'string', description: `comma-separated, of ${OPERATOR_ROLES.join(', ')} (default: none: status, routes, audit and block where only)` },
    days: { type: 'string', description: 'validity in days (default 365)' },
    force: { type: 'boolean', description: 'overwrite an existing operator file' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
});

/** A fresh operator key certified by `ca`, written to `out`. */
export async function issueOperator(ca: CertificateAuthority, out: string, opts: { name: string; roles: readonly OperatorRole[]; validityMs?: number }): Promise<OperatorCertificate> {
  const keys = await signingKeyPairFromSeed(osRandom.bytes(32));
  const cert = await issueOperatorCertificate(ca, { name: opts.name, signingKey: keys.publicKey, roles: opts.roles }, { nowMs: Date.now(), validityMs: opts.validityMs });
  writeOperator(out, { cert, secretKey: keys.secretKey });
  return cert;
}

export async function initOrganisation(domain: string, out: string, replicationFactor: number, force = false, mailQuotaBytesPerUser?: number) {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i.test(domain))
    throw new CommandError(`--org must be a mail domain like rice.example, got ${domain}`);
  if (existsSync(join(out, 'ca.json')) && !force) throw new CommandError(`${out} already holds a CA; pass --force to replace it (every node certificate it issued becomes invalid)`);
  const ca = await createCertificateAuthority(domain, osRandom.bytes(32));
  writeOrganisation(out, { ca, convergenceSecret: osRandom.bytes(32), replicationFactor, ...(mailQuotaBytesPerUser !== undefined ? { mailQuotaBytesPerUser } : {}) });
  await issueOperator(ca, join(out, OPERATOR_FILE), { name: 'admin', roles: OPERATOR_ROLES });
  return readRingTrust(out);
}

function parseRoles(value: string | undefined): OperatorRole[] {
  const roles = (value ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of roles) if (!(OPERATOR_ROLES as readonly string[]).includes(r)) throw new CommandError(`--roles: ${r} is not a role; the roles are ${OPERATOR_ROLES.join(', ')}`);
  return [...new Set(roles)] as OperatorRole[];
}

export async function caCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'operator') return operatorCommand(rest);
  if (sub !== 'init') return subcommandHelp('ca', sub, [spec, operatorSpec]);
  const { values, help } = parse(spec, rest);
  if (help) return void console.log(helpText(spec));
  const out = resolve(required(values.out, 'out', spec.usage));
  const org = required(values.org, 'org', spec.usage);
  const k = intOption(values.replication, 'replication', DEFAULT_REPLICATION_FACTOR, { min: 1, max: 16 });
  const quota = values['mail-quota'] === undefined ? undefined : intOption(values['mail-quota'], 'mail-quota', MAIL_QUOTA_BYTES_PER_USER_DEFAULT, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const trust = await initOrganisation(org, out, k, values.force === true, quota);
  const result = { org: trust.org, ringId: trust.ringId, ca: out, operator: join(out, OPERATOR_FILE), replicationFactor: trust.replicationFactor };
  if (values.json) printJson(result);
  else console.log(`organisation ${trust.org}: ring ${trust.ringId}\nCA written to ${out} (keep ca.secret.json and ${OPERATOR_FILE} private)`);
}

async function operatorCommand(argv: string[]): Promise<void> {
  const { values, help } = parse(operatorSpec, argv);
  if (help) return void console.log(helpText(operatorSpec));
  const caDir = resolve(required(values.ca, 'ca', operatorSpec.usage));
  const name = required(values.name, 'name', operatorSpec.usage);
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new CommandError(`--name must be 1 to 64 letters, digits or . _ @ -, got ${name}`);
  const out = resolve(required(values.out, 'out', operatorSpec.usage));
  if (existsSync(out) && !values.force) throw new CommandError(`${out} exists; pass --force to replace it`);
  const days = intOption(values.days, 'days', 365, { min: 1, max: 3650 });
  const cert = await issueOperator(readOrganisation(caDir).ca, out, { name, roles: parseRoles(values.roles), validityMs: days * 24 * 3600 * 1000 });
  const result = { name: cert.name, org: cert.org, operatorId: cert.operatorId, roles: cert.roles, expiresAtMs: cert.expiresAtMs, file: out };
  if (values.json) printJson(result);
  else console.log(`operator ${cert.name} of ${cert.org} (${cert.operatorId.slice(0, 16)}), roles: ${cert.roles.join(', ') || 'none'}\nwritten to ${out} (keep it private)`);
}
