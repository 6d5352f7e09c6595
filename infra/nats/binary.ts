// Where the nats-server executable is. Tests, the lab and the CLI all start servers through it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];

export class NatsServerNotFoundError extends Error {
  constructor(searched: readonly string[]) {
    super(
      `nats-server was not found (looked in $NATS_SERVER_BIN and ${searched.join(', ')}). ` +
        'Install it with `apt-get install -y nats-server` (Debian/Ubuntu), or download a release from ' +
        'https://github.com/nats-io/nats-server/releases and set NATS_SERVER_BIN to its path.',
    );
    this.name = 'NatsServerNotFoundError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nats-server binary: $NATS_SERVER_BIN, then PATH, then the usual system directories. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env, extraDirs: readonly string[] = EXTRA_DIRS): string {
  const explicit = env.NATS_SERVER_BIN;
  if (explicit && isExecutable(explicit)) return explicit;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  const unique = [...new Set(dirs)];
  for (const dir of unique) {
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerNotFoundError(unique);
}
