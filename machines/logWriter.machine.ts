// The node's log writer (DESIGN 4 and 7): the unit of supervision of the logs this node has open
// (actors/users/logWriterHost.ts). It spawns no children: each open log's append protocol is the pure
// transition function storage/log/appendProtocol.ts (idle, writing, catchingUp, backingOff,
// refreshing), run by its LogWriter handle and listed in /state; a restart of this actor rebuilds
// every open log from storage. The host shape (serving, CRASH) is shared with the notifier's.
import { hostMachine } from './host';

export const logWriterMachine = hostMachine('logWriter');
