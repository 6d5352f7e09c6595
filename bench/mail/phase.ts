// A phase of the mail benchmark: which users it needs, how it runs against one target, and which of
// its figures are compared between POST and the reference. `post bench mail --phase a,b` runs a subset.
import type { Log, MailTarget } from './target';

/** tiny: the integration test; quick: `--quick`; full: the figures. */
export type BenchSize = 'tiny' | 'quick' | 'full';

/** One compared figure: POST's value divided by the reference's is its ratio. */
export interface Comparison {
  figure: string;
  reference: number | null;
  post: number | null;
  better: 'higher' | 'lower';
  /** What the issue asks of POST, e.g. '<= 10', printed next to the figure. */
  goal?: string;
  /** Not POST's figure but a bound on it measured on POST's lab (the write floor): no better or worse. */
  bound?: boolean;
  /**
   * The highest ratio POST could reach on this figure in this run: a bound measured beside it (the bare
   * replicated write) over the reference's figure. Below a goal of '>= Nx', the goal is out of reach here.
   */
  reach?: number;
}

export interface MailPhase<O = any, R = any> {
  readonly name: string;
  readonly summary: string;
  options(size: BenchSize): O;
  /** Local parts of the users it logs in as; the harness creates them (with fresh passwords) on both targets. */
  users(opts: O): string[];
  /** Its users are many clients of a load (mixed, smtp): with `--spread` POST hosts them across its nodes. */
  readonly load?: true;
  /**
   * Its options take `ageMs` (`post bench mail --age`): that long of its own load first, untimed, its
   * wrong replies counted, so that its figures are those of a server in use rather than a fresh one.
   */
  readonly ages?: true;
  run(target: MailTarget, opts: O, log: Log): Promise<R>;
  /** Figures to compare; a phase that checks consistency also says whether the run is valid. */
  compare(post: R, reference: R): Comparison[];
  /** Problems that make a result unusable (consistency errors, wrong answers), empty when valid. */
  problems?(result: R): string[];
}

export const definePhase = <O, R>(phase: MailPhase<O, R>): MailPhase<O, R> => phase;
