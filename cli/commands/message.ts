// `post message send | list`: short messages between users, the smallest application on POST's
// three services (content stored once, a notification per recipient, a log per user). No part of
// the mail gateway is involved.
import { resolve } from 'node:path';
import { MessageListRequest, MessageSendRequest } from '../../protocol/control';
import { CommandError, defineCommand, helpText, parse, printJson, required } from '../args';
import { LabClient } from '../lab/client';
import { findNode, type LabFile, readLab } from '../lab/labFile';

const sendSpec = defineCommand({
  usage: 'post message send --lab FILE --from ADDRESS --to ADDRESS[,...] TEXT [--json]',
  summary: 'Send a short message over POST from a user of the lab to one or more users.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    from: { type: 'string', description: 'the sender (a user of the lab)' },
    to: { type: 'string', description: 'recipients, comma-separated' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
  positionals: ['TEXT'],
});

const listSpec = defineCommand({
  usage: 'post message list --lab FILE --user ADDRESS [--json]',
  summary: 'The messages a user of the lab sent and received.',
  options: {
    lab: { type: 'string', description: 'the lab.json printed by `post lab up`' },
    user: { type: 'string', description: 'the user (a user of the lab)' },
    json: { type: 'boolean', description: 'one JSON document on stdout' },
  },
});

/** The node hosting a lab user. */
function hostOf(lab: LabFile, address: string) {
  const user = lab.users.find((u) => u.address === address.toLowerCase());
  if (!user) throw new CommandError(`${address} is not a user of this lab; \`post lab up --users N\` or \`post user add\` creates users`);
  return findNode(lab, user.node);
}

export async function messageCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'send') {
    const { values, positionals, help } = parse(sendSpec, rest);
    if (help) return void console.log(helpText(sendSpec));
    const lab = readLab(resolve(required(values.lab, 'lab', sendSpec.usage)));
    const from = required(values.from, 'from', sendSpec.usage);
    const to = required(values.to, 'to', sendSpec.usage).split(',').map((s) => s.trim()).filter(Boolean);
    const client = await LabClient.connect(lab);
    try {
      const r = await client.ask(hostOf(lab, from), MessageSendRequest, { from, to, text: positionals[0]! }, 60_000);
      if (values.json) printJson(r);
      else console.log(`sent to ${r.notified.join(', ') || 'nobody'}${r.failed.length ? `; failed: ${r.failed.map((f: any) => `${f.to} (${f.error})`).join(', ')}` : ''}`);
      if (r.failed.length) throw new CommandError(`not delivered to ${r.failed.map((f: any) => `${f.to} (${f.error})`).join(', ')}`);
    } finally {
      await client.close();
    }
    return;
  }
  if (sub === 'list') {
    const { values, help } = parse(listSpec, rest);
    if (help) return void console.log(helpText(listSpec));
    const lab = readLab(resolve(required(values.lab, 'lab', listSpec.usage)));
    const user = required(values.user, 'user', listSpec.usage);
    const client = await LabClient.connect(lab);
    try {
      const list = await client.ask(hostOf(lab, user), MessageListRequest, { user }, 60_000);
      if (values.json) printJson(list);
      else for (const m of list) console.log(`${new Date(m.sentAtMs).toISOString()} ${m.direction === 'in' ? `from ${m.from}` : `to ${m.to.join(',')}`}: ${m.text}`);
    } finally {
      await client.close();
    }
    return;
  }
  throw new CommandError(`unknown command: post message ${sub ?? ''}\nusage: ${sendSpec.usage}\n       ${listSpec.usage}`);
}
