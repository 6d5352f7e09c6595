// Users hosted by a node: their credentials sealed to the node's key (crypto/nodeSeal.ts), one file
// each in the node's data folder (users/<address>.sealed); the simulator's are in memory
// (infra/sim/hostedUsers.ts). The same
// store keeps the standby grants of the users the node stands in for (standby/<address>.sealed).
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeFileDurably, writeFileDurably } from './durable';

export interface HostedUserStore {
  list(): Promise<{ address: string; sealed: Uint8Array }[]>;
  save(address: string, sealed: Uint8Array): Promise<void>;
  remove(address: string): Promise<void>;
}

const fileName = (address: string) => `${encodeURIComponent(address.toLowerCase())}.sealed`;

export class FileHostedUsers implements HostedUserStore {
  private readonly dir: string;
  /** `folder`: users/ for hosted users, standby/ for the grants of users the node stands in for. */
  constructor(dataDir: string, folder = 'users') {
    this.dir = join(dataDir, folder);
  }

  async list() {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.sealed'))
      .map((f) => ({ address: decodeURIComponent(f.slice(0, -'.sealed'.length)), sealed: new Uint8Array(readFileSync(join(this.dir, f))) }));
  }

  async save(address: string, sealed: Uint8Array) {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Durably: a node that crashes right after `post user add` answered still hosts the user.
    writeFileDurably(join(this.dir, fileName(address)), sealed);
  }

  async remove(address: string) {
    removeFileDurably(join(this.dir, fileName(address)));
  }
}
