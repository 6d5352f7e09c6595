// One unlocked user under the node's log writer (machines/logWriter.machine.ts): the parent of the
// user's open logs, one `log:<name>` child each (machines/logAppend.machine.ts).
import { hostMachine } from './host';

export const userLogsMachine = hostMachine('userLogs');
