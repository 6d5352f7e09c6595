// A NATS client's security from files: its credentials (an nkey seed `.nk`, or a `.creds` file with a
// user JWT) and the CA that signed the servers' certificates. Every tool that connects (node, CLI,
// dashboard, scenarios, benchmarks, tests) builds its transport options here.
import { readFileSync } from 'node:fs';
import type { NatsCredentials, NatsTransportOptions } from './transport';

export interface NatsClientFiles {
  /** `.nk` (nkey seed) or `.creds` (JWT and seed). */
  readonly credsFile?: string;
  /** PEM certificate of the CA that signed the servers' certificates. */
  readonly caFile?: string;
}

/** How the URL of a server that takes TLS only starts. */
const TLS_URL_PREFIX = 'tls://';

export class PlaintextNatsUrlError extends Error {
  constructor(url: string, caFile: string) {
    super(
      `${url} is a plaintext NATS URL, but a NATS CA is configured (${caFile}), so the servers take TLS only: ` +
        `give their URLs as tls://HOST:PORT (or pass no CA for a plaintext test server).`,
    );
    this.name = 'PlaintextNatsUrlError';
  }
}

function credentialsOf(path: string): NatsCredentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the NATS credentials ${path}: ${(error as Error).message}`, { cause: error });
  }
  return /BEGIN NATS USER JWT/.test(text) ? { kind: 'credsFile', path } : { kind: 'nkeySeedFile', path };
}

/** Transport options for `servers` with these files; a CA with a plaintext URL is refused (PlaintextNatsUrlError). */
export function natsClientSecurity(servers: readonly string[], files: NatsClientFiles): Pick<NatsTransportOptions, 'servers' | 'credentials' | 'tls'> {
  if (files.caFile !== undefined) {
    const plain = servers.find((url) => !url.toLowerCase().startsWith(TLS_URL_PREFIX));
    if (plain !== undefined) throw new PlaintextNatsUrlError(plain, files.caFile);
  }
  return {
    servers,
    ...(files.credsFile !== undefined ? { credentials: credentialsOf(files.credsFile) } : {}),
    // tls:// without a CA of our own: the system's trusted CAs.
    ...(files.caFile !== undefined ? { tls: { caFile: files.caFile } } : servers.some((u) => u.toLowerCase().startsWith(TLS_URL_PREFIX)) ? { tls: {} } : {}),
  };
}
