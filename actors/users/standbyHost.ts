// Standby hosting (issue 13, DESIGN 5): this node stands in for users whose home node is gone. Each
// grant (the user's keys sealed to this node's key by whoever provisioned the user: see
// storage/users/standbyGrants.ts) names the user's home node and its standby hosts in order; this
// node, ranked r, watches the home and the r standbys before it in its own leaf set. When they have
// all been out of it for STANDBY_TAKEOVER_HEARTBEATS heartbeats, it unlocks the user with the granted
// keys and delivers the user's notifications here (pull, push subscription, INBOX, receipts; and the
// owner's lease refresh), as a session here would; when one of them is back for
// STANDBY_HANDBACK_HEARTBEATS, it hands delivery back. One standby machine per grant
// (machines/standby.machine.ts) holds that protocol; this actor supplies its effects.
//
// The leaf set is the overlay's own liveness (heartbeats, suspicion timeout). A watched node whose
// place in the ring this node's leaf set does not cover is neither gone nor back: nothing moves.
import { type Actor, createActor } from 'xstate';
import { openAsNode } from '../../crypto/nodeSeal';
import type { RingTrust } from '../../crypto/certificates';
import type { HostedUserStore } from '../../infra/files/hostedUsers';
import type { Clock, Log, TimerHandle } from '../../infra/ports';
import { standbyMachine } from '../../machines/standby.machine';
import { type StandbyGrant, standbyGrantCodec } from '../../protocol/apps';
import { ErrorCodes, PostError } from '../../protocol/errors';
import { STANDBY_CUTOFF_WINDOW_HEARTBEATS, STANDBY_HANDBACK_HEARTBEATS, STANDBY_TAKEOVER_HEARTBEATS, USER_UNLOCK_RETRY_MS } from '../../protocol/limits';
import type { StorageApi } from '../../storage/api';
import { lookupUser, unlockWithSecrets } from '../../storage/users/login';
import type { UnlockedUser } from '../../storage/users/unlockedUser';
import type { PostMailbox } from '../mail/postMailbox';
import type { UserHost } from './userHost';
import { Decoder } from '@msgpack/msgpack';
import type { Observable, Subscription } from 'rxjs';

export interface StandbyHostDeps {
  readonly nodeId: string;
  readonly nodeSigningSecretKey: Uint8Array;
  readonly trust: RingTrust;
  readonly clock: Clock;
  readonly log: Log;
  /** Where the sealed grants are kept (the node's data folder; memory in the simulator). */
  readonly store: HostedUserStore;
  /** The node's own storage client (reads the directory and identity records). */
  readonly nodeStorage: StorageApi;
  /** The overlay's view of liveness. */
  readonly overlay: {
    ready(): boolean;
    leafSet(): readonly string[];
    /** Does this node's leaf set span the place of `id` in the ring (so its absence means it is gone)? */
    covers(id: string): boolean;
    readonly changes$: Observable<unknown>;
  };
  readonly heartbeatIntervalMs: number;
  readonly users: UserHost;
  readonly mailbox: PostMailbox;
}

/** One grant and its machine. */
interface Standing {
  readonly grant: StandbyGrant;
  readonly rank: number;
  readonly actor: Actor<typeof standbyMachine>;
  /** Last liveness sent to the machine. */
  verdict: 'gone' | 'back' | undefined;
  /**
   * Standing down since the leaf set fell to half of this many members or fewer, until a watched node
   * returns or the leaf set has been back above that half for a whole cut-off window.
   */
  cutFrom: number | undefined;
  /** When the leaf set grew back above half of cutFrom (and has stayed there since). */
  regrownAt: number | undefined;
  /** Bumped by every takeover and handback: a takeover still unlocking after a handback undoes itself. */
  generation: number;
  /** This standing keeps the user's mailbox open here (mailbox.hold). */
  held: boolean;
}

const decoder = new Decoder();

export class StandbyHost {
  private readonly standings = new Map<string, Standing>();
  /**
   * The leaf set's sizes over the last cut-off window, [time, members], each smaller than the one
   * before (a sliding-window maximum: the first is the largest; at most LEAF_SET_SIZE + 1 of them).
   */
  private readonly sizes: [number, number][] = [];
  private subscription: Subscription | undefined;
  /** Evaluates again when a regrown leaf set's cut-off window ends (nothing else may change by then). */
  private recheck: TimerHandle | undefined;
  private stopped = false;
  private readonly log: Log;

  constructor(private readonly deps: StandbyHostDeps) {
    this.log = deps.log.child({ actor: 'standby' });
  }

  /** Load the stored grants and watch the leaf set. */
  async start(): Promise<void> {
    for (const { address, sealed } of await this.deps.store.list()) {
      const grant = this.open(sealed);
      if (grant) this.stand(grant);
      else this.log.error('standby.unreadable', { address, why: 'not a grant sealed to this node\'s key' });
    }
    this.subscription = this.deps.overlay.changes$.subscribe(() => this.evaluate());
    this.evaluate();
  }

  /** Become a standby host of a user from a grant sealed to this node (replaces an earlier grant for that user). */
  async grant(sealed: Uint8Array): Promise<{ address: string; home: string; rank: number }> {
    const grant = this.open(sealed);
    if (!grant) throw new PostError(ErrorCodes.BAD_REQUEST, 'the standby grant is not sealed to this node\'s key, or names this node as no standby');
    await this.deps.store.save(grant.address, sealed);
    const standing = this.stand(grant);
    this.evaluate();
    return { address: grant.address, home: grant.home, rank: standing.rank };
  }

  status() {
    return [...this.standings.values()].map((s) => ({
      address: s.grant.address,
      home: s.grant.home,
      rank: s.rank,
      state: stateName(s.actor.getSnapshot().value),
      takeovers: s.actor.getSnapshot().context.takeovers,
      delivered: s.held ? (this.deps.users.visitor(s.grant.address)?.deliveredCount ?? 0) : 0,
    }));
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.unsubscribe();
    if (this.recheck !== undefined) this.deps.clock.clearTimeout(this.recheck);
    for (const s of this.standings.values()) s.actor.stop();
    this.standings.clear();
  }

  private open(sealed: Uint8Array): StandbyGrant | undefined {
    const plain = openAsNode(this.deps.nodeSigningSecretKey, sealed);
    if (!plain) return undefined;
    let grant: StandbyGrant;
    try {
      grant = standbyGrantCodec.decode(decoder.decode(plain), 'standbyGrant');
    } catch {
      return undefined;
    }
    return grant.standbys.includes(this.deps.nodeId) && grant.home !== this.deps.nodeId ? { ...grant, address: grant.address.toLowerCase() } : undefined;
  }

  private stand(grant: StandbyGrant): Standing {
    this.standings.get(grant.address)?.actor.stop();
    const effects = { takeOver: () => this.takeOver(standing), handBack: () => this.handBack(standing) };
    const input = { takeoverMs: STANDBY_TAKEOVER_HEARTBEATS * this.deps.heartbeatIntervalMs, handbackMs: STANDBY_HANDBACK_HEARTBEATS * this.deps.heartbeatIntervalMs };
    const actor = createActor(standbyMachine.provide({ actions: effects }), { input, clock: this.deps.clock, id: `standby-${grant.address}` });
    const standing: Standing = { grant, rank: grant.standbys.indexOf(this.deps.nodeId), actor, verdict: undefined, cutFrom: undefined, regrownAt: undefined, generation: 0, held: false };
    this.standings.set(grant.address, standing);
    actor.start();
    return standing;
  }

  /**
   * Tell each machine whether the nodes it stands behind are all gone, or one is back. A node whose
   * leaf set fell to half or less within the cut-off window is more likely cut off than they are
   * dead: in a partition, a standby and a live home on the two sides would each write the user's INBOX
   * at a majority of their own side's replicas, and one side's entries would not survive the heal. It
   * stands down (as if the home were back) until a watched node is back, or the rest of the ring has
   * been back for a whole cut-off window: a heal brings members back one by one, and the home may be
   * among the last (a takeover then would make two writers while the views still disagree).
   */
  private evaluate(): void {
    if (this.stopped || !this.deps.overlay.ready()) return;
    const now = this.deps.clock.now();
    const windowMs = STANDBY_CUTOFF_WINDOW_HEARTBEATS * this.deps.heartbeatIntervalMs;
    const members = new Set(this.deps.overlay.leafSet());
    const recentMax = this.recordSize(members.size);
    let recheckAt = Infinity;
    for (const s of this.standings.values()) {
      const watched = [s.grant.home, ...s.grant.standbys.slice(0, s.rank)];
      const seen = watched.some((id) => members.has(id));
      if (seen) s.cutFrom = s.regrownAt = undefined;
      else if (s.cutFrom === undefined && members.size * 2 <= recentMax) {
        s.cutFrom = recentMax;
        this.log.warn('standby.cut.off', { user: s.grant.address, leafSet: members.size, before: recentMax });
      } else if (s.cutFrom !== undefined && members.size * 2 <= s.cutFrom) s.regrownAt = undefined;
      else if (s.cutFrom !== undefined) {
        s.regrownAt ??= now;
        if (now - s.regrownAt < windowMs) recheckAt = Math.min(recheckAt, s.regrownAt + windowMs);
        else {
          this.log.info('standby.cut.over', { user: s.grant.address, leafSet: members.size, before: s.cutFrom });
          s.cutFrom = s.regrownAt = undefined;
        }
      }
      const verdict = seen || s.cutFrom !== undefined ? 'back' : watched.every((id) => this.deps.overlay.covers(id)) ? 'gone' : undefined;
      if (verdict === undefined || verdict === s.verdict) continue;
      s.verdict = verdict;
      s.actor.send({ type: verdict === 'gone' ? 'HOME_GONE' : 'HOME_BACK' });
    }
    if (recheckAt < Infinity && this.recheck === undefined)
      this.recheck = this.deps.clock.setTimeout(() => {
        this.recheck = undefined;
        this.evaluate();
      }, recheckAt - now);
  }

  /** Record the leaf set's size now; the largest it was within the cut-off window. */
  private recordSize(size: number): number {
    const now = this.deps.clock.now();
    const windowMs = STANDBY_CUTOFF_WINDOW_HEARTBEATS * this.deps.heartbeatIntervalMs;
    while (this.sizes.length > 0 && now - this.sizes[0]![0] > windowMs) this.sizes.shift();
    while (this.sizes.length > 0 && this.sizes.at(-1)![1] <= size) this.sizes.pop();
    this.sizes.push([now, size]);
    return this.sizes[0]![1];
  }

  private takeOver(s: Standing): void {
    const generation = ++s.generation;
    this.log.info('standby.takeover', { user: s.grant.address, home: s.grant.home.slice(0, 12), rank: s.rank });
    void this.deliverFor(s, generation);
  }

  private handBack(s: Standing): void {
    s.generation++;
    this.log.info('standby.handback', { user: s.grant.address, home: s.grant.home.slice(0, 12) });
    this.release(s);
  }

  private release(s: Standing): void {
    if (!s.held) return;
    s.held = false;
    void this.deps.mailbox.letGo(s.grant.address).catch((e: Error) => this.log.warn('standby.release.failed', { user: s.grant.address, error: e.message }));
  }

  /** Unlock the user with the granted keys and deliver here; retried while this takeover stands (the ring may be unsettled). */
  private async deliverFor(s: Standing, generation: number): Promise<void> {
    const current = () => !this.stopped && s.generation === generation;
    while (current()) {
      try {
        const user = await this.unlock(s.grant);
        if (!current()) return;
        await this.deps.mailbox.hold(user);
        // Handed back while opening the mailbox: let go of this hold only.
        if (!current()) return void (await this.deps.mailbox.letGo(user.address));
        s.held = true;
        this.deps.users.visit(user, { refreshLeases: true });
        return;
      } catch (e) {
        if (!(e instanceof PostError)) throw e; // a programming error: crash, do not retry it
        const code = e.code;
        this.log.warn('standby.unlock.failed', { user: s.grant.address, code, error: (e as Error).message });
        // Revoked, deleted or re-keyed users stay so: waiting would not help.
        if (code === 'CERT_REVOKED' || code === 'UNKNOWN_USER' || code === 'KEYSTORE_INVALID') return;
        await new Promise<void>((r) => this.deps.clock.setTimeout(r, USER_UNLOCK_RETRY_MS));
      }
    }
  }

  private async unlock(grant: StandbyGrant): Promise<UnlockedUser> {
    const certificate = await lookupUser(this.deps.nodeStorage, this.deps.trust, grant.address, this.deps.clock.now());
    return unlockWithSecrets(this.deps.nodeStorage, { signingSecretKey: grant.signingSecretKey, boxSecretKey: grant.boxSecretKey, masterSecret: grant.masterSecret, certificate });
  }
}

/** 'watching', 'suspecting', 'delivering.active', 'delivering.handingBack'. */
function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${k}.${stateName(v)}`;
}
