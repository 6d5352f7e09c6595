// `post bench mail --spread`: where POST's benchmark users live and where their clients connect.
import { describe, expect, it } from 'vitest';
import { endpointsIn, placeUsers } from '../../../bench/mailPost';
import { imapOf, smtpOf, type MailTarget } from '../../../bench/mail/target';
import type { LabFile, LabNode } from '../../../lab/labFile';

const node = (i: number) => ({ id: `node${i}`, imap: { host: '127.0.0.1', port: 1000 + i }, smtp: { host: '127.0.0.1', port: 2000 + i } }) as unknown as LabNode;
const lab = { nodes: [0, 1, 2].map(node) } as unknown as LabFile;
const user = (name: string) => ({ address: `${name}@bench.example`, password: 'p' });

describe('bench mail placement', () => {
  const users = ['growth', 'mixed0', 'mixed1', 'mixed2', 'mixed3', 'latency'].map(user);
  const spread = users.filter((u) => u.address.startsWith('mixed'));

  it('hosts every user on the first node without --spread', () => {
    const placed = placeUsers(lab, users, []);
    expect(placed.get(lab.nodes[0]!)).toEqual(users);
    expect(placed.get(lab.nodes[1]!)).toEqual([]);
  });

  it('spreads the load users round-robin over every node; the others stay on the first', () => {
    const placed = placeUsers(lab, users, spread);
    expect(placed.get(lab.nodes[0]!)!.map((u) => u.address.split('@')[0])).toEqual(['growth', 'mixed0', 'mixed3', 'latency']);
    expect(placed.get(lab.nodes[1]!)!.map((u) => u.address.split('@')[0])).toEqual(['mixed1']);
    expect(placed.get(lab.nodes[2]!)!.map((u) => u.address.split('@')[0])).toEqual(['mixed2']);
  });

  it("sends each client to its user's node, and a target without placement to its one server", () => {
    const endpointsOf = endpointsIn(placeUsers(lab, users, spread));
    const server = { host: '127.0.0.1', port: 9 };
    const spreadTarget = { name: 'POST', smtp: server, imap: server, users, endpointsOf } as MailTarget;
    expect(imapOf(spreadTarget, spread[2]!).port).toBe(1002);
    expect(smtpOf(spreadTarget, spread[1]!).port).toBe(2001);
    expect(() => imapOf(spreadTarget, user('stranger'))).toThrow(/not a benchmark user/);
    const oneServer = { name: 'reference', smtp: server, imap: server, users } as MailTarget;
    expect(imapOf(oneServer, spread[2]!)).toBe(server);
  });
});
