// One lab for a CalDAV or CardDAV lab test's describe block: up before its tests (one organisation,
// lab.example, `users` users), down and its folder removed after; and lab.json's users and nodes.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { post, labDown } from './cli';

export interface DavLabFile {
  nodes: { id: string; pid: number; log: string; caldav: string }[];
  users: { address: string; password: string; node: string }[];
}
export type DavLabUser = DavLabFile['users'][number];

/** HTTP Basic for a lab user, as the DAV port takes it. */
export const basicAuth = (u: { address: string; password: string }): string => `Basic ${Buffer.from(`${u.address}:${u.password}`).toString('base64')}`;

/** Call inside a describe block: registers the lab's start and stop around it. */
export function davLab(dir: string, opts: { nodes: number; users: number }) {
  let labFile = '';
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', String(opts.nodes), '--users', String(opts.users), '--dir', dir], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
  }, 200_000);
  afterAll(async () => {
    await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
  const lab = (): DavLabFile => JSON.parse(readFileSync(labFile, 'utf8'));
  return {
    lab,
    userN: (n: number): DavLabUser => lab().users.find((u) => u.address === `user${n}@lab.example`)!,
    homeOf: (u: { node: string }) => lab().nodes.find((n) => n.id === u.node)!,
    otherNodeOf: (u: { node: string }) => lab().nodes.find((n) => n.id !== u.node)!,
  };
}
