// TLS material for NATS: a certificate authority made for one lab or organisation, and the server
// certificate its nats-server processes present to clients, to each other (cluster routes, where it
// is also the client certificate) and on leaf-node links. Made with the `openssl` binary; clients trust
// only the CA file (`natsCa` in lab.json, `nats/ca.pem` in a node's data folder).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

/** The files a TLS-configured nats-server reads. */
export interface NatsTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Days the lab's CA and server certificates are valid: long-lived labs, no renewal machinery. */
const CA_VALID_DAYS = 3650;
const SERVER_VALID_DAYS = 825;

function openssl(args: readonly string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('the openssl command is missing: install it with `apt-get install -y openssl`; the NATS TLS certificates are made with it');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`, { cause: error });
  }
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A CA (`ca.pem`, private `ca.key`) and a server certificate (`server.pem`, `server.key`) for `names`
 * (host names and IP addresses the servers are reached at) in `dir`. An existing CA is kept, so that
 * clients holding its certificate keep trusting new server certificates.
 */
export function createNatsTls(dir: string, names: readonly string[]): NatsTlsFiles {
  if (names.length === 0) throw new RangeError('a NATS server certificate needs at least one host name or IP address');
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const files = { caFile: join(out, 'ca.pem'), certFile: join(out, 'server.pem'), keyFile: join(out, 'server.key') };
  const caKey = join(out, 'ca.key');
  if (!existsSync(files.caFile) || !existsSync(caKey)) {
    openssl(['req', '-x509', ...ecKey, '-keyout', caKey, '-out', files.caFile, '-days', String(CA_VALID_DAYS), '-subj', '/CN=POST NATS CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], out);
    chmodSync(caKey, 0o600);
  }
  const csr = join(out, 'server.csr');
  const ext = join(out, 'server.ext');
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`);
  try {
    openssl(['req', '-new', ...ecKey, '-keyout', files.keyFile, '-out', csr, '-subj', '/CN=POST NATS server'], out);
    chmodSync(files.keyFile, 0o600);
    openssl(['x509', '-req', '-in', csr, '-CA', files.caFile, '-CAkey', caKey, '-CAserial', join(out, 'ca.srl'), '-CAcreateserial',
      '-days', String(SERVER_VALID_DAYS), '-extfile', ext, '-out', files.certFile], out);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  return files;
}

/** Puts a copy of the CA certificate at `to` (a node's data folder keeps the CA it trusts). */
export function copyNatsCa(caFile: string, to: string): void {
  if (!existsSync(caFile)) throw new Error(`no NATS CA certificate at ${caFile}`);
  mkdirSync(resolve(to, '..'), { recursive: true });
  copyFileSync(caFile, to);
}
