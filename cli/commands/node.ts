// `post node init` (a node identity certified by an organisation's CA) and `post node start`.
import { osRandom } from '../../infra/random';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { natsClientSecurity } from '../../infra/nats/clientSecurity';
import { NatsConnectError } from '../../infra/nats/transport';
import { defaultNodeNatsFiles, initNodeNatsCredentials, nodeNatsFiles } from '../../infra/nats/nodeCredentials';
import { issueNodeCertificate } from '../../crypto/certificates';
import { signingKeyPairFromSeed } from '../../crypto/sign';
import { nodeExists, readNode, readOrganisation, readRingTrust, writeFederation, writeNode } from '../../infra/files/identity';
import { DEFAULT_INSPECT_URL, runNodeProcess } from '../../actors/nodeProcess';
import { fromPolicies, type FromPolicy } from '../../mail/smtp/senderAlignment';
import type { SenderRateLimits } from '../../mail/smtp/senderRate';
import {
  GC_INTERVAL_S_MAX,
  GC_INTERVAL_S_MIN,
  GC_LEASE_S_MIN,
  gcWatchTimings,
  MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
  STORAGE_LEASE_MS,
  STORAGE_TIMINGS,
  type StorageTimings,
  SUBMISSION_BURST_MESSAGES,
  SUBMISSION_MESSAGES_PER_MINUTE,
  XMPP_DEFAULT_PORT,
} from '../../protocol/limits';
import { defineCommand, CommandError, helpText, intOption, parse, printJson, required, subcommandHelp } from '../args';

const initSpec = defineCommand({
  usage: 'post node init --ca DIR --data DIR [--nats-ca FILE] [--federate CADIR,...] [--force] [--json]',
  summary:
    'Create a node identity (Ed25519 key; node id = BLAKE2b-256 of it) certified by the organisation CA in DIR, and its NATS keys (DATA/nats/node.nk, global.nk).',
  options: {
    ca: { type: 'string', description: 'the CA folder written by `post ca init`' },
    data: { type: 'string', description: 'the node\'s data folder' },
    'nats-ca': { type: 'string', description: 'the CA certificate of the NATS servers (`post nats init` writes it): kept as DATA/nats/ca.pem' },
    force: { type: 'boolean', description: 'replace an existing identity in the data folder' },
    federate: { type: 'string', description: 'CA folders of organisations to federate with, comma-separated' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
});

const startSpec = defineCommand({
  usage: 'post node start --data DIR --nats URL[,URL...] [--nats-creds FILE] [--nats-ca FILE] [--nats-global-creds FILE] [--imap PORT] [--smtp PORT] [--http PORT] [--xmpp PORT] [--gateway] [--mx PORT --gateway-user ADDRESS] [--smarthost HOST:PORT] [--from-mismatch refuse|add-sender] [--submission-rate PER_MINUTE[/BURST]] [--gc-lease SECONDS --gc-interval SECONDS] [--tls-cert FILE --tls-key FILE] [--log-level LEVEL] [--inspect [URL]]',
  summary: 'Run a node: join its organisation\'s ring over NATS and serve until SIGTERM.',
  options: {
    data: { type: 'string', description: 'the node\'s data folder (from `post node init`)' },
    nats: { type: 'string', description: 'NATS server URLs, comma-separated (a cluster), nearest first: the node connects to the first that admits it and fails over down the list; tls://HOST:PORT when the servers take TLS' },
    'nats-creds': { type: 'string', description: 'the node\'s NATS credentials (default DATA/nats/node.nk)' },
    'nats-global-creds': { type: 'string', description: 'a gateway\'s credentials in the global ring (default DATA/nats/global.nk)' },
    'nats-ca': { type: 'string', description: 'the CA that signed the NATS servers\' certificates (default DATA/nats/ca.pem); with it, only tls:// URLs' },
    imap: { type: 'string', description: 'IMAP port (default 1143)' },
    xmpp: { type: 'string', description: 'XMPP client port (RFC 6120; off unless given: 5222 is the usual one)' },
    smtp: { type: 'string', description: 'SMTP submission port (default 2525)' },
    http: { type: 'string', description: 'HTTP port for /state and /metrics (default 8025)' },
    gateway: { type: 'boolean', description: 'also act as a gateway node' },
    mx: { type: 'string', description: 'inbound MX port: accept Internet mail for local users (needs --gateway-user)' },
    'gateway-user': { type: 'string', description: 'the hosted user inbound mail is stored under (e.g. postmaster@DOMAIN)' },
    smarthost: { type: 'string', description: 'relay for non-POST recipients, HOST:PORT' },
    'from-mismatch': { type: 'string', description: "a submitted From: that is not the user's own: refuse (550 5.7.1, default) or add-sender (sent with Sender: <user>)" },
    'submission-rate': {
      type: 'string',
      description: `messages a user may submit per minute, and at once (default ${SUBMISSION_MESSAGES_PER_MINUTE}/${SUBMISSION_BURST_MESSAGES}); past it MAIL FROM gets 450 4.7.1`,
    },
    'gc-lease': { type: 'string', description: `lease of what this node stores, in seconds (default ${STORAGE_LEASE_MS / 1000}; at least ${GC_LEASE_S_MIN}): a lab that watches GC` },
    'gc-interval': { type: 'string', description: `seconds between GC passes (default ${STORAGE_TIMINGS.gcIntervalMs / 1000})` },
    'tls-cert': { type: 'string', description: 'PEM certificate (chain) of the node\'s client-facing listeners: the HTTP port then speaks HTTPS (CalDAV), IMAP, SMTP and XMPP offer STARTTLS (needs --tls-key)' },
    'tls-key': { type: 'string', description: 'PEM private key of --tls-cert' },
    'log-level': { type: 'string', description: 'debug, info (default), warn or error' },
    inspect: { type: 'string', description: `stream actor transitions to the XState inspector at this WebSocket URL (alone: ${DEFAULT_INSPECT_URL})` },
  },
});

export async function initNode(caDir: string, dataDir: string, force = false, federate: readonly string[] = [], natsCa?: string) {
  if (nodeExists(dataDir) && !force) throw new CommandError(`${dataDir} already holds a node identity; pass --force to replace it`);
  const org = readOrganisation(caDir);
  const keys = await signingKeyPairFromSeed(osRandom.bytes(32));
  const cert = await issueNodeCertificate(org.ca, keys, { nowMs: Date.now() });
  writeNode(dataDir, {
    cert,
    signingSecretKey: keys.secretKey,
    trust: { org: org.ca.org, ringId: org.ca.ringId, caPublicKey: org.ca.caPublicKey },
    convergenceSecret: org.convergenceSecret,
    replicationFactor: org.replicationFactor,
    mailQuotaBytesPerUser: org.mailQuotaBytesPerUser ?? MAIL_QUOTA_BYTES_PER_USER_DEFAULT,
  });
  writeFederation(
    dataDir,
    federate.map((d) => readRingTrust(d)).filter((t) => t.ringId !== org.ca.ringId),
  );
  // A new identity gets new NATS keys too (a kept CA stays).
  if (force) {
    const old = nodeNatsFiles(dataDir);
    for (const path of [old.credsFile, old.globalCredsFile]) rmSync(path, { force: true });
  }
  const nats = initNodeNatsCredentials(dataDir, natsCa);
  return { ...cert, nats };
}

/** `--inspect` without a URL (last, or followed by another option) means the inspector's default URL. */
function withInspectDefault(argv: string[]): string[] {
  return argv.map((arg, i) => (arg === '--inspect' && (i + 1 === argv.length || argv[i + 1]!.startsWith('-')) ? `--inspect=${DEFAULT_INSPECT_URL}` : arg));
}

function inspectUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || !['ws:', 'wss:'].includes(new URL(value).protocol))
    throw new CommandError(`--inspect must be the inspector's WebSocket URL (ws://HOST:PORT), got ${value}`);
  return value;
}

/** `--submission-rate PER_MINUTE[/BURST]`, e.g. `20/60`. */
export function parseSubmissionRate(s: string): Pick<SenderRateLimits, 'messagesPerMinute' | 'burstMessages'> {
  const m = /^(\d{1,9})(?:\/(\d{1,9}))?$/.exec(s.trim());
  const perMinute = Number(m?.[1]);
  const burst = m?.[2] === undefined ? SUBMISSION_BURST_MESSAGES : Number(m[2]);
  if (!m || perMinute < 1 || burst < 1) throw new CommandError(`--submission-rate must be PER_MINUTE or PER_MINUTE/BURST with both at least 1, e.g. 20/60; got ${s}`);
  return { messagesPerMinute: perMinute, burstMessages: burst };
}

function parseFromPolicy(s: string): FromPolicy {
  if (!(fromPolicies as readonly string[]).includes(s)) throw new CommandError(`--from-mismatch must be ${fromPolicies.join(' or ')}, got ${s}`);
  return s as FromPolicy;
}

function parseHostPort(s: string): { host: string; port: number } {
  const m = /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new CommandError(`--smarthost must be HOST:PORT, got ${s}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export async function nodeCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'init') {
    const { values, help } = parse(initSpec, rest);
    if (help) return void console.log(helpText(initSpec));
    const data = resolve(required(values.data, 'data', initSpec.usage));
    const federate = (values.federate ?? '').split(',').map((d) => d.trim()).filter(Boolean).map((d) => resolve(d));
    const natsCa = values['nats-ca'] === undefined ? undefined : resolve(values['nats-ca']);
    if (natsCa !== undefined && !existsSync(natsCa)) throw new CommandError(`--nats-ca: no file ${natsCa}; give the NATS CA certificate (\`post nats init\` writes ca.pem)`);
    const cert = await initNode(resolve(required(values.ca, 'ca', initSpec.usage)), data, values.force === true, federate, natsCa);
    if (values.json) printJson({ id: cert.nodeId, org: cert.org, ringId: cert.ringId, data, natsUser: cert.nats.nkey, natsGlobalUser: cert.nats.globalNkey });
    else
      console.log(
        `node ${cert.nodeId} of ${cert.org}\nidentity and NATS keys written to ${data}\n` +
          `NATS user ${cert.nats.nkey} (global ring: ${cert.nats.globalNkey}); \`post nats config --nodes ${data}\` puts them in the servers' configuration`,
      );
    return;
  }
  if (sub === 'start') {
    const { values, help } = parse(startSpec, withInspectDefault(rest));
    if (help) return void console.log(helpText(startSpec));
    const data = resolve(required(values.data, 'data', startSpec.usage));
    readNode(data); // fail early, with the file's own message
    const defaults = defaultNodeNatsFiles(data);
    const nats = {
      credsFile: values['nats-creds'] === undefined ? defaults.credsFile : resolve(values['nats-creds']),
      caFile: values['nats-ca'] === undefined ? defaults.caFile : resolve(values['nats-ca']),
    };
    const natsUrls = required(values.nats, 'nats', startSpec.usage).split(',').map((s) => s.trim()).filter(Boolean);
    try {
      natsClientSecurity(natsUrls, nats);
    } catch (e) {
      throw new CommandError((e as Error).message);
    }
    const level = values['log-level'] ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new CommandError(`--log-level must be debug, info, warn or error`);
    await runNodeProcess({
      dataDir: data,
      natsUrls,
      nats,
      natsGlobalCredsFile: values['nats-global-creds'] === undefined ? defaults.globalCredsFile : resolve(values['nats-global-creds']),
      httpPort: intOption(values.http, 'http', 8025, { min: 0, max: 65535 }),
      imapPort: intOption(values.imap, 'imap', 1143, { min: 0, max: 65535 }),
      smtpPort: intOption(values.smtp, 'smtp', 2525, { min: 0, max: 65535 }),
      ...(values.xmpp === undefined ? {} : { xmppPort: intOption(values.xmpp, 'xmpp', XMPP_DEFAULT_PORT, { min: 0, max: 65535 }) }),
      gateway: values.gateway === true,
      mxPort: values.mx === undefined ? undefined : intOption(values.mx, 'mx', 2526, { min: 0, max: 65535 }),
      gatewayUser: values['gateway-user'],
      smarthost: values.smarthost ? parseHostPort(values.smarthost) : undefined,
      ...(values['from-mismatch'] ? { fromPolicy: parseFromPolicy(values['from-mismatch']) } : {}),
      ...(values['submission-rate'] ? { submissionRate: parseSubmissionRate(values['submission-rate']) } : {}),
      logLevel: level as 'info',
      inspectUrl: inspectUrl(values.inspect),
      ...gcOptions(values['gc-lease'], values['gc-interval']),
      ...tlsOption(values['tls-cert'], values['tls-key']),
    }).catch((e) => {
      throw e instanceof NatsConnectError ? new CommandError(e.message) : e;
    });
    return new Promise(() => {}); // serve until a signal stops the process
  }
  return subcommandHelp('node', sub, [initSpec, startSpec]);
}

/** `--tls-cert` and `--tls-key`, read: both or neither. */
function tlsOption(certFile: string | undefined, keyFile: string | undefined): { tls?: { key: string; cert: string } } {
  if (certFile === undefined && keyFile === undefined) return {};
  if (certFile === undefined || keyFile === undefined) throw new CommandError('--tls-cert and --tls-key go together: the certificate and its private key');
  const read = (file: string, what: string) => {
    try {
      return readFileSync(resolve(file), 'utf8');
    } catch (e) {
      throw new CommandError(`cannot read the TLS ${what} ${file}: ${(e as Error).message}`);
    }
  };
  return { tls: { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') } };
}

/** `--gc-lease` and `--gc-interval` (seconds), either alone keeping the other's default. */
export function gcOptions(leaseS: string | undefined, intervalS: string | undefined): { storageTimings?: StorageTimings } {
  if (leaseS === undefined && intervalS === undefined) return {};
  const lease = intOption(leaseS, 'gc-lease', STORAGE_LEASE_MS / 1000, { min: GC_LEASE_S_MIN, max: STORAGE_LEASE_MS / 1000 });
  const interval = intOption(intervalS, 'gc-interval', STORAGE_TIMINGS.gcIntervalMs / 1000, { min: GC_INTERVAL_S_MIN, max: GC_INTERVAL_S_MAX });
  return { storageTimings: gcWatchTimings(lease, interval) };
}
