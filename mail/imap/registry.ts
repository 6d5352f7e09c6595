// Every command this server understands, by name (UID variants included).
import type { CommandSpec } from './command';
import { appendCommand } from './commands/append';
import { authenticateCommand } from './commands/authenticate';
import { cancelUpdateCommand } from './commands/cancelupdate';
import { capabilityCommand } from './commands/capability';
import { checkCommand } from './commands/check';
import { closeCommand } from './commands/close';
import { compressCommand } from './commands/compress';
import { copyCommand } from './commands/copy';
import { createCommand } from './commands/create';
import { deleteCommand } from './commands/delete';
import { enableCommand } from './commands/enable';
import { expungeCommand } from './commands/expunge';
import { fetchCommand } from './commands/fetch';
import { idCommand } from './commands/id';
import { idleCommand } from './commands/idle';
import { listCommand } from './commands/list';
import { loginCommand } from './commands/login';
import { logoutCommand } from './commands/logout';
import { lsubCommand } from './commands/lsub';
import { moveCommand } from './commands/move';
import { namespaceCommand } from './commands/namespace';
import { noopCommand } from './commands/noop';
import { notifyCommand } from './commands/notify';
import { getQuotaCommand, getQuotaRootCommand, setQuotaCommand } from './commands/quota';
import { renameCommand } from './commands/rename';
import { searchCommand } from './commands/search';
import { examineCommand, selectCommand } from './commands/select';
import { sortCommand } from './commands/sort';
import { starttlsCommand } from './commands/starttls';
import { statusCommand } from './commands/status';
import { storeCommand } from './commands/store';
import { subscribeCommand } from './commands/subscribe';
import { threadCommand } from './commands/thread';
import { unselectCommand } from './commands/unselect';
import { unsubscribeCommand } from './commands/unsubscribe';
import { xlistCommand } from './commands/xlist';

const commands: readonly CommandSpec<any>[] = [
  appendCommand,
  authenticateCommand,
  cancelUpdateCommand,
  capabilityCommand,
  checkCommand,
  closeCommand,
  compressCommand,
  copyCommand,
  createCommand,
  deleteCommand,
  enableCommand,
  examineCommand,
  expungeCommand,
  fetchCommand,
  idCommand,
  idleCommand,
  listCommand,
  loginCommand,
  logoutCommand,
  lsubCommand,
  moveCommand,
  namespaceCommand,
  noopCommand,
  notifyCommand,
  getQuotaCommand,
  getQuotaRootCommand,
  setQuotaCommand,
  renameCommand,
  searchCommand,
  selectCommand,
  sortCommand,
  starttlsCommand,
  statusCommand,
  storeCommand,
  subscribeCommand,
  threadCommand,
  unselectCommand,
  unsubscribeCommand,
  xlistCommand,
];

const byName = new Map<string, CommandSpec<any>>();
for (const command of commands) for (const name of command.names) byName.set(name, command);

export function findCommand(name: string): CommandSpec<any> | undefined {
  return byName.get(name);
}
