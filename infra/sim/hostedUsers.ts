// The simulator's hosted-user store: in memory, one per simulated node, kept across its restarts by
// the cluster (as a data folder is). Real nodes keep theirs on disk (infra/files/hostedUsers.ts).
import type { HostedUserStore } from '../files/hostedUsers';

export class MemoryHostedUsers implements HostedUserStore {
  private readonly users = new Map<string, Uint8Array>();
  async list() {
    return [...this.users].map(([address, sealed]) => ({ address, sealed }));
  }
  async save(address: string, sealed: Uint8Array) {
    this.users.set(address.toLowerCase(), sealed);
  }
  async remove(address: string) {
    this.users.delete(address.toLowerCase());
  }
}
