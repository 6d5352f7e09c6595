// Subscriptions indexed by subject tokens (the shape of nats-server's sublist), so that matching a
// subject costs its token count, not the number of subscriptions: a simulated ring has thousands.
// The last match is cached per subject until the next subscribe/unsubscribe, because traffic
// repeats subjects (heartbeats, replica requests) far more often than subscriptions change.

export interface Indexed {
  readonly subject: string;
}

class Level<S> {
  readonly literal = new Map<string, Level<S>>();
  star: Level<S> | undefined;
  /** Subscriptions whose pattern ends here. */
  readonly here = new Set<S>();
  /** Subscriptions whose pattern ends with `>` after this level. */
  readonly rest = new Set<S>();

  isEmpty(): boolean {
    return this.literal.size === 0 && this.star === undefined && this.here.size === 0 && this.rest.size === 0;
  }
}

/** Cached subjects kept at most; the cache is a convenience and must not grow with traffic. */
const CACHE_SUBJECTS_MAX = 50_000;

export class SubjectIndex<S extends Indexed> {
  private readonly root = new Level<S>();
  private readonly cache = new Map<string, readonly S[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(sub: S): void {
    let level = this.root;
    for (const token of sub.subject.split('.')) {
      if (token === '>') {
        level.rest.add(sub);
        this.changed(1);
        return;
      }
      level = token === '*' ? (level.star ??= new Level()) : getOrAdd(level.literal, token);
    }
    level.here.add(sub);
    this.changed(1);
  }

  remove(sub: S): void {
    const tokens = sub.subject.split('.');
    const path: Level<S>[] = [this.root];
    let level: Level<S> | undefined = this.root;
    for (const token of tokens) {
      if (token === '>') break;
      level = token === '*' ? level.star : level.literal.get(token);
      if (level === undefined) return;
      path.push(level);
    }
    const last = path[path.length - 1]!;
    const removed = tokens[tokens.length - 1] === '>' ? last.rest.delete(sub) : last.here.delete(sub);
    if (!removed) return;
    this.changed(-1);
    // Prune emptied levels so that churning inbox subjects do not leave a growing tree behind.
    for (let i = path.length - 1; i > 0 && path[i]!.isEmpty(); i--) {
      const parent = path[i - 1]!;
      const token = tokens[i - 1]!;
      if (token === '*') parent.star = undefined;
      else parent.literal.delete(token);
    }
  }

  /** Every subscription whose pattern matches the literal `subject`, in a deterministic order. */
  match(subject: string): readonly S[] {
    const cached = this.cache.get(subject);
    if (cached !== undefined) return cached;
    const found: S[] = [];
    collect(this.root, subject.split('.'), 0, found);
    if (this.cache.size >= CACHE_SUBJECTS_MAX) this.cache.clear();
    this.cache.set(subject, found);
    return found;
  }

  private changed(delta: number): void {
    this.count += delta;
    this.cache.clear();
  }
}

function collect<S>(level: Level<S>, tokens: string[], i: number, found: S[]): void {
  if (i === tokens.length) {
    for (const sub of level.here) found.push(sub);
    return;
  }
  for (const sub of level.rest) found.push(sub);
  const literal = level.literal.get(tokens[i]!);
  if (literal !== undefined) collect(literal, tokens, i + 1, found);
  if (level.star !== undefined) collect(level.star, tokens, i + 1, found);
}

function getOrAdd<S>(map: Map<string, Level<S>>, token: string): Level<S> {
  let level = map.get(token);
  if (level === undefined) {
    level = new Level<S>();
    map.set(token, level);
  }
  return level;
}
