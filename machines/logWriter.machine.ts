// The node's log writer (DESIGN 4 and 7): a parent for one `user:<address>` child per unlocked user
// (machines/userLogs.machine.ts), each the parent of that user's open logs, one `logAppend` actor per
// log (machines/logAppend.machine.ts: its append queue and compare-and-swap retries).
import { hostMachine } from './host';

export const logWriterMachine = hostMachine('logWriter');
