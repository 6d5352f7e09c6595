// Benchmarks: `post bench NAME [--quick] [--json]` or `npm run bench`. Each measures its baseline in
// the same run (this machine is shared and noisy) and prints its figures.
import { routingBench } from './routing';
import type { Bench } from './stats';

export const benches: Bench[] = [routingBench];

export function findBench(name: string): Bench | undefined {
  return benches.find((b) => b.name === name);
}
