// `post message send | list`: short messages between users, the smallest application on POST's
// three services (content stored once, a notification per recipient, a log per user). No part of
// the mail gateway is involved. The command logs in as the user (its password from lab.json or a
// password file) and signs as that user: the user's node acts on nothing less, and seals its answer
// to the user.
import { resolve } from 'node:path';
import { MessageListRequest, MessageSendRequest } from '../../protocol/control';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import { CommandError, defineCommand, helpText, parse, printJson, required, subcommandHelp } from '../args';
import { LabClient } from '../../lab/client';
import { findNode, type LabFile, type LabNode, readLab } from '../../lab/labFile';
import { loginAs, readPasswordFile } from '../../lab/users';

const sendSpec = defineCommand({
  usage: 'post message send --lab FILE --from ADDRESS --to ADDRESS[,...] TEXT [--password-file FILE] [--json]',
  summary: 'Send a short message over POST from a user of the lab to one or more users.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    from: { type: 'string', description: 'the sender (a user of the lab)' },
    to: { type: 'string', description: 'recipients, comma-separated' },
    'password-file': { type: 'string', description: 'the sender\'s password (first line; default: from lab.json)' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
  positionals: ['TEXT'],
});

const listSpec = defineCommand({
  usage: 'post message list --lab FILE --user ADDRESS [--password-file FILE] [--json]',
  summary: 'The messages a user of the lab sent and received.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    user: { type: 'string', description: 'the user (a user of the lab)' },
    'password-file': { type: 'string', description: 'the user\'s password (first line; default: from lab.json)' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
});

/** The node hosting a lab user, and the user's password (from the password file, else lab.json). */
function hostOf(lab: LabFile, address: string, passwordFile: string | undefined): { node: LabNode; password: string } {
  const user = lab.users.find((u) => u.address === address.toLowerCase());
  if (!user) throw new CommandError(`${address} is not a user of this lab; \`post lab up --users N\` or \`post user add\` creates users`);
  return { node: findNode(lab, user.node), password: passwordFile ? readPasswordFile(resolve(passwordFile)) : user.password };
}

/** Connect, log in as `address` through its node, and run `body` as that user. */
async function asUser<T>(lab: LabFile, address: string, passwordFile: string | undefined, body: (c: LabClient, node: LabNode, user: UnlockedUser) => Promise<T>): Promise<T> {
  const { node, password } = hostOf(lab, address, passwordFile);
  const client = await LabClient.connect(lab);
  try {
    return await body(client, node, await loginAs(client, node, address, password));
  } finally {
    await client.close();
  }
}

export async function messageCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'send') {
    const { values, positionals, help } = parse(sendSpec, rest);
    if (help) return void console.log(helpText(sendSpec));
    const lab = readLab(resolve(required(values.lab, 'lab', sendSpec.usage)));
    const from = required(values.from, 'from', sendSpec.usage);
    const to = required(values.to, 'to', sendSpec.usage).split(',').map((s) => s.trim()).filter(Boolean);
    const r = await asUser(lab, from, values['password-file'], (c, node, user) => c.askAs(user, node, MessageSendRequest, { from, to, text: positionals[0]! }, 60_000));
    if (values.json) printJson(r);
    else console.log(`sent to ${r.notified.join(', ') || 'nobody'}${r.failed.length ? `; failed: ${r.failed.map((f: any) => `${f.to} (${f.error})`).join(', ')}` : ''}`);
    if (r.failed.length) throw new CommandError(`not delivered to ${r.failed.map((f: any) => `${f.to} (${f.error})`).join(', ')}`);
    return;
  }
  if (sub === 'list') {
    const { values, help } = parse(listSpec, rest);
    if (help) return void console.log(helpText(listSpec));
    const lab = readLab(resolve(required(values.lab, 'lab', listSpec.usage)));
    const user = required(values.user, 'user', listSpec.usage);
    const list = await asUser(lab, user, values['password-file'], (c, node, as) => c.askAs(as, node, MessageListRequest, { user }, 60_000));
    if (values.json) printJson(list);
    else for (const m of list) console.log(`${new Date(m.sentAtMs).toISOString()} ${m.direction === 'in' ? `from ${m.from}` : `to ${m.to.join(',')}`}: ${m.text}`);
    return;
  }
  return subcommandHelp('message', sub, [sendSpec, listSpec]);
}
