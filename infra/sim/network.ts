// A simulated NATS fabric for the deterministic simulator: many endpoints on one SimClock, with
// NATS semantics (wildcards, queue groups, request/reply, no-responders) and injectable faults
// (delay and jitter, loss, duplication, partitions, slow endpoints, killed endpoints, a crashed server).
//
// Model: the server routes a message the moment it is published (interest is what it is then, as a
// real server's is when the message reaches it); each receiving subscription gets its own copy, which
// arrives in a later clock event after its own delay, unless a fault drops it on the way. A request
// nobody is subscribed to is answered NO_RESPONDERS after the return trip; so is one whose subject
// has no subscriber left when its copy arrives. Everything random comes from the given source, and
// every collection is iterated in insertion order, so a seed replays exactly.
import { FRAME_BYTES_MAX } from '../../protocol/limits';
import { silentLog } from '../log';
import { copyPayload } from '../payload';
import type { Log, Random, TransportMessage } from '../ports';
import type { SimClock } from './clock';
import { count, emptyCounters, snapshotCounters, type DropReason, type NetworkCounters } from './counters';
import { assertFaults, drawDelayMs, NO_FAULTS, Partitions, type Link, type NetworkFaults } from './faults';
import { SubjectIndex } from './subject-index';
import { SimSubscription, SimTransport, type SimFabric } from './transport';

export { SimTransport } from './transport';
export type { NetworkCounters, DropReason } from './counters';
export type { NetworkFaults, DelayFn, DelayRange, Link } from './faults';

/** The lab's nats-server max_payload (infra/nats/config.ts): twice FRAME_BYTES_MAX. */
export const SIM_MAX_PAYLOAD_BYTES = 2 * FRAME_BYTES_MAX;
/** A NATS client reconnects to another cluster member within ~10 ms (STACK.md). */
export const SIM_RECONNECT_MS = 10;

export interface SimNetworkOptions extends Partial<NetworkFaults> {
  clock: SimClock;
  /** Pass a dedicated stream (`random.fork('network')`) so network draws shift no other consumer. */
  random: Random;
  log?: Log;
  maxPayloadBytes?: number;
  /** How long endpoints stay `reconnecting` after a simulated server crash. */
  reconnectMs?: number;
}

export class SimNetwork implements SimFabric {
  readonly clock: SimClock;
  readonly maxPayloadBytes: number;
  private readonly random: Random;
  private readonly log: Log;
  private faults: NetworkFaults;
  private readonly index = new SubjectIndex<SimSubscription>();
  private readonly endpoints = new Map<string, SimTransport>();
  private readonly extraDelayMs = new Map<string, number>();
  private readonly partitions = new Partitions();
  private readonly counters: NetworkCounters = emptyCounters();
  private readonly observers = new Set<(from: string, subject: string, data: Uint8Array) => void>();
  private connections = 0;
  private reconnectMs: number;
  /** Bumped by each simulated server crash: copies sent in an older epoch are lost. */
  private epoch = 0;
  /** Until then, endpoints are reconnecting and what they publish waits in their client. */
  private reconnectedAtMs = -Infinity;
  private inFlightCopies = 0;

  constructor(opts: SimNetworkOptions) {
    this.clock = opts.clock;
    this.random = opts.random;
    this.log = opts.log ?? silentLog;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? SIM_MAX_PAYLOAD_BYTES;
    this.reconnectMs = opts.reconnectMs ?? SIM_RECONNECT_MS;
    this.faults = { ...NO_FAULTS };
    this.configure(opts);
  }

  // ---- endpoints ------------------------------------------------------------------------------

  /** A new endpoint; a name may be reused once its previous endpoint closed or was killed. */
  connect(name: string): SimTransport {
    if (this.endpoints.has(name)) throw new Error(`SimNetwork: endpoint '${name}' is already connected`);
    const endpoint = new SimTransport(name, ++this.connections, this);
    if (this.clock.now() < this.reconnectedAtMs) endpoint.setStatus('reconnecting');
    this.endpoints.set(name, endpoint);
    return endpoint;
  }

  /** Names of the live endpoints, in connection order. */
  endpointNames(): string[] {
    return [...this.endpoints.keys()];
  }

  /** The endpoint's process dies: its subscriptions vanish and its pending requests fail CLOSED. */
  kill(name: string): void {
    const endpoint = this.endpoints.get(name);
    if (endpoint !== undefined) this.detach(endpoint, 'killed');
  }

  // ---- faults ---------------------------------------------------------------------------------

  /** Changes delay, loss or duplication from now on (messages in flight keep their fate). */
  configure(faults: Partial<NetworkFaults> & { reconnectMs?: number }): void {
    const next: NetworkFaults = {
      delay: faults.delay ?? this.faults.delay,
      lossProbability: faults.lossProbability ?? this.faults.lossProbability,
      duplicateProbability: faults.duplicateProbability ?? this.faults.duplicateProbability,
    };
    assertFaults(next);
    this.faults = next;
    if (faults.reconnectMs !== undefined) this.reconnectMs = faults.reconnectMs;
  }

  /** Splits endpoints into sides; copies crossing a cut are dropped. Unlisted endpoints form one side. */
  partition(groups: readonly (readonly string[])[]): void {
    this.partitions.partition(groups);
    this.log.info('sim.partition', { groups });
  }

  /** Cuts one endpoint off from all others (adds to the current partition). */
  isolate(name: string): void {
    this.partitions.isolate(name);
    this.log.info('sim.isolate', { endpoint: name });
  }

  heal(): void {
    this.partitions.heal();
    this.log.info('sim.heal');
  }

  /** Adds `extraMs` to every copy to or from `name` (a slow node); 0 makes it normal again. */
  slow(name: string, extraMs: number): void {
    if (extraMs > 0) this.extraDelayMs.set(name, extraMs);
    else this.extraDelayMs.delete(name);
  }

  /**
   * The NATS server crashes: every copy in flight is lost (requests among them time out), and the
   * endpoints reconnect for `reconnectMs`, during which what they publish waits in their client.
   */
  dropInFlight(opts: { reconnectMs?: number } = {}): void {
    const reconnectMs = opts.reconnectMs ?? this.reconnectMs;
    this.epoch++;
    this.log.warn('sim.server_crash', { inFlight: this.inFlightCopies, reconnectMs });
    this.inFlightCopies = 0;
    this.reconnectedAtMs = this.clock.now() + reconnectMs;
    for (const endpoint of this.endpoints.values()) endpoint.setStatus('reconnecting');
    const epoch = this.epoch;
    this.clock.setTimeout(() => {
      if (this.epoch !== epoch) return; // a later crash owns the reconnection
      for (const endpoint of this.endpoints.values()) endpoint.setStatus('connected');
    }, reconnectMs);
  }

  // ---- observation ----------------------------------------------------------------------------

  /** A snapshot of the counters. */
  stats(): NetworkCounters {
    return snapshotCounters(this.counters);
  }

  /**
   * Watch every publish and request as it is sent (before faults): who sent it, the subject and the
   * bytes (read them during the call only). Tests count a command's frames with it. Returns the unwatch.
   */
  observe(listener: (from: string, subject: string, data: Uint8Array) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /** Copies scheduled and not yet arrived or dropped. */
  get inFlight(): number {
    return this.inFlightCopies;
  }

  get subscriptionCount(): number {
    return this.index.size;
  }

  // ---- SimFabric: called by endpoints ---------------------------------------------------------

  send(from: SimTransport, subject: string, data: Uint8Array, reply: string | undefined, isRequest: boolean): void {
    const bytes = data.length;
    count(this.counters.sent, bytes);
    for (const observer of this.observers) observer(from.name, subject, data);
    // The client copies a payload when it is published: the caller may reuse its buffer at once.
    const payload = copyPayload(data);
    const matches = this.index.match(subject);
    if (matches.length === 0) {
      this.drop('noInterest', bytes);
      if (isRequest && reply !== undefined) this.answerNoResponders(from, subject, reply);
      return;
    }
    const msg: TransportMessage = reply === undefined ? { subject, data: payload } : { subject, data: payload, reply };
    let queues: Map<string, SimSubscription[]> | undefined;
    for (const sub of matches) {
      if (sub.queue === undefined) this.transmit(from, sub, msg, isRequest);
      else {
        queues ??= new Map();
        const members = queues.get(sub.queue);
        if (members === undefined) queues.set(sub.queue, [sub]);
        else members.push(sub);
      }
    }
    if (queues !== undefined) {
      for (const members of queues.values()) {
        this.transmit(from, members[members.length === 1 ? 0 : this.random.int(members.length)]!, msg, isRequest);
      }
    }
  }

  addSubscription(sub: SimSubscription): void {
    this.index.add(sub);
  }

  removeSubscription(sub: SimSubscription): void {
    this.index.remove(sub);
  }

  detach(endpoint: SimTransport, how: 'closed' | 'killed'): void {
    if (this.endpoints.get(endpoint.name) === endpoint) this.endpoints.delete(endpoint.name);
    endpoint.terminate();
    this.log.info(how === 'killed' ? 'sim.endpoint_killed' : 'sim.endpoint_closed', { endpoint: endpoint.name });
  }

  handlerFailed(endpoint: SimTransport, subject: string, error: unknown): void {
    this.counters.handlerErrors++;
    this.log.warn('transport.handler_failed', { endpoint: endpoint.name, subject, error });
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Sends one copy of `msg` to one subscription, through the faults. */
  private transmit(from: SimTransport, sub: SimSubscription, msg: TransportMessage, isRequest: boolean): void {
    const to = sub.owner.name;
    const bytes = msg.data.length;
    if (this.partitions.cut(from.name, to)) return this.drop('partition', bytes);
    if (this.faults.lossProbability > 0 && this.random.float() < this.faults.lossProbability) {
      return this.drop('loss', bytes);
    }
    this.schedule(from.name, sub, msg, isRequest);
    if (this.faults.duplicateProbability > 0 && this.random.float() < this.faults.duplicateProbability) {
      count(this.counters.duplicated, bytes);
      this.schedule(from.name, sub, msg, isRequest);
    }
  }

  private schedule(from: string, sub: SimSubscription, msg: TransportMessage, isRequest: boolean): void {
    const epoch = this.epoch;
    this.inFlightCopies++;
    this.clock.setTimeout(() => this.arrive(from, sub, msg, isRequest, epoch), this.delayMs(from, sub.owner.name, msg));
  }

  private arrive(from: string, sub: SimSubscription, msg: TransportMessage, isRequest: boolean, epoch: number): void {
    const bytes = msg.data.length;
    if (epoch !== this.epoch) return this.drop('serverCrash', bytes);
    this.inFlightCopies--;
    const receiver = sub.owner;
    if (!sub.active) {
      this.drop(receiver.isClosed ? 'closed' : 'unsubscribed', bytes);
      const nobodyLeft = isRequest && msg.reply !== undefined && this.index.match(msg.subject).length === 0;
      if (nobodyLeft && this.endpoints.get(from)?.noResponders(msg.reply!)) this.counters.noResponders++;
      return;
    }
    if (this.partitions.cut(from, receiver.name)) return this.drop('partition', bytes);
    count(this.counters.delivered, bytes);
    // Each receiver owns its copy: one handler changing its bytes must not change another's.
    const data = copyPayload(msg.data);
    receiver.deliver(sub, msg.reply === undefined ? { subject: msg.subject, data } : { subject: msg.subject, data, reply: msg.reply });
  }

  /** The server's "no responders" status travels back to the requester like a reply. */
  private answerNoResponders(from: SimTransport, subject: string, reply: string): void {
    const epoch = this.epoch;
    const delay = this.delayMs(from.name, from.name, { subject, data: new Uint8Array(0) });
    this.clock.setTimeout(() => {
      if (epoch === this.epoch && from.noResponders(reply)) this.counters.noResponders++;
    }, delay);
  }

  private delayMs(from: string, to: string, msg: Pick<TransportMessage, 'subject' | 'data'>): number {
    const link: Link = { from, to, subject: msg.subject, bytes: msg.data.length };
    let delay = drawDelayMs(this.faults.delay, link, this.random);
    if (this.extraDelayMs.size > 0) {
      delay += (this.extraDelayMs.get(from) ?? 0) + (to === from ? 0 : (this.extraDelayMs.get(to) ?? 0));
    }
    // A publish made while reconnecting leaves the client only once it has reconnected.
    const waitMs = this.reconnectedAtMs - this.clock.now();
    return waitMs > 0 ? waitMs + delay : delay;
  }

  private drop(reason: DropReason, bytes: number): void {
    count(this.counters.dropped[reason], bytes);
  }
}
