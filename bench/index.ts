// Benchmarks: `post bench NAME [--quick] [--json]` or `npm run bench`. Each measures its baseline in
// the same run (this machine is shared and noisy) and prints its figures.
import { calendarBench } from './calendar';
import { convergentBench } from './convergent';
import { fuzzBench } from './fuzz';
import { imBench } from './im';
import { imapBigBench } from './imapBig';
import { logsBench } from './logs';
import { mailBench, registerMailTarget } from './mail';
import { postMailTarget } from './mailPost';
import { notifyBench } from './notify';
import { ringCpuBench } from './ringCpu';
import { routingBench } from './routing';
import { storageBench } from './storage';
import { storageRequirementsBench } from './storageRequirements';
import { sessionsBench } from './sessions';
import type { Bench } from './stats';

registerMailTarget(postMailTarget);

export const benches: Bench[] = [routingBench, convergentBench, storageBench, storageRequirementsBench, logsBench, notifyBench, mailBench, ringCpuBench, sessionsBench, imapBigBench, imBench, calendarBench, fuzzBench];

export function findBench(name: string): Bench | undefined {
  return benches.find((b) => b.name === name);
}
