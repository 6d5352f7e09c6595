// Seeds for simulation tests: fixed by default, overridable with SIM_SEED to replay a failure.
// A failing run prints "reproduce with seed=N" and the tail of the simulated log.
import type { SimCluster } from '../../scenarios/sim/cluster';

export function simSeed(fallback: number): number {
  const env = process.env.SIM_SEED;
  return env !== undefined && env !== '' ? Number(env) : fallback;
}

export async function withSeed<T>(cluster: SimCluster, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    const tail = cluster.log.dump().split('\n').slice(-60).join('\n');
    console.error(`simulation failed: reproduce with seed=${cluster.seed} (SIM_SEED=${cluster.seed} npx vitest run ...)\n--- last log lines ---\n${tail}`);
    throw e;
  }
}
