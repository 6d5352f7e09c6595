// The router: Pastry membership and routing as an explicit state machine (DESIGN section 2).
//
//   joining.seeking ──JOIN_ACK──▶ joining.awaitingReply ──JOIN_REPLY──▶ joining.announcing ──all acked──▶ ready
//        │  └─NO_RESPONDERS (nobody in the ring yet)──────────────────────────────────────────────────▶ ready
//        └─timeout──▶ joining.backoff ──▶ seeking (bounded attempts) ──▶ failed
//   ready: heartbeat (tick every heartbeatIntervalMs) ∥ leafSet (stable ⇄ repairing while probes are out)
//
// Pure: protocol logic lives in overlay/router/handlers.ts; every side effect is the named action
// `effect` (send, request, reply, deliver, membership, log), which the router actor provides. Time
// enters only through `after` delays on the actor's clock. Certificates are verified by the actor
// before a message becomes an event here.
import type { ErrorCode } from '../protocol/errors';
import { assign, setup } from 'xstate';
import type { NodeId } from '../overlay/id';
import * as H from '../overlay/router/handlers';
import { initialContext, type PendingForward, type RouterConfig, type RouterContext, type RouterEffect, type Step } from '../overlay/router/state';
import type { RouteMessage } from '../protocol/overlay';

export type RouterEvent =
  | { type: 'JOIN_ACK'; accepted: boolean; reason?: string }
  | { type: 'JOIN_NO_RESPONDERS' }
  | { type: 'JOIN_UNANSWERED' }
  | { type: 'JOIN_REPLY'; root: NodeId; leafSet: NodeId[]; rows: { row: number; nodes: NodeId[] }[] }
  | { type: 'JOIN_REQUEST'; joiner: NodeId; replyTo: string; msgId: string }
  | { type: 'ANNOUNCE'; from: NodeId; replyTo: string }
  | { type: 'ANNOUNCE_ACK'; from: NodeId; accepted: boolean; reason?: string; leafSet: NodeId[] }
  | { type: 'ANNOUNCE_FAILED'; to: NodeId }
  | { type: 'HEARTBEAT'; from: NodeId; echo: boolean }
  | { type: 'LEAFSET_REQUEST'; from: NodeId; replyTo: string }
  | { type: 'LEAFSET_REPLY'; from: NodeId; leafSet: NodeId[]; ready: boolean }
  | { type: 'PROBE_FAILED'; to: NodeId }
  | { type: 'HELLO'; from: NodeId }
  | { type: 'DISCOVER'; from: NodeId }
  | { type: 'ROUTE_IN'; msg: RouteMessage }
  | { type: 'ROUTE'; msg: RouteMessage }
  | { type: 'FORWARD_FAILED'; pending: PendingForward; to: NodeId; code: ErrorCode };

type E<T extends RouterEvent['type']> = Extract<RouterEvent, { type: T }>;

const routerSetup = setup({
  types: {
    context: {} as RouterContext,
    input: {} as RouterConfig,
    events: {} as RouterEvent,
  },
  actions: {
    /** The single effect port: the router actor performs it (see actors/router.ts). */
    effect: (_, _params: RouterEffect) => {},
  },
  guards: {
    canRetryJoin: ({ context }) => H.canRetryJoin(context),
    announceComplete: ({ context }) => H.announceComplete(context),
    refusedOrFailed: ({ context }) => context.failure !== undefined,
    probing: ({ context }) => Object.keys(context.probing).length > 0,
  },
  delays: {
    joinTimeout: ({ context }) => context.config.timings.joinTimeoutMs,
    announceTimeout: ({ context }) => context.config.timings.announceTimeoutMs * 2,
    heartbeatInterval: ({ context }) => context.config.timings.heartbeatIntervalMs,
  },
});

/** Run a pure handler: take its context, perform its effects (in order) through the `effect` action. */
function step<T extends RouterEvent['type']>(handler: (ctx: RouterContext, ev: E<T>) => Step) {
  return routerSetup.enqueueActions(({ context, event, enqueue }) => {
    const s = handler(context, event as E<T>);
    enqueue.assign(() => s.context);
    for (const effect of s.effects) enqueue({ type: 'effect', params: effect });
  });
}

/** Handlers valid in every state; `ready` says whether this node routes for others yet. */
const common = (ready: boolean) => ({
  ANNOUNCE: { actions: step<'ANNOUNCE'>((c, e) => H.onAnnounce(c, e.from, e.replyTo)) },
  HEARTBEAT: { actions: step<'HEARTBEAT'>((c, e) => (e.echo ? H.onHeartbeatEcho(c, e.from) : H.onHeartbeat(c, e.from))) },
  LEAFSET_REQUEST: { actions: step<'LEAFSET_REQUEST'>((c, e) => H.onLeafSetRequest(c, e.from, e.replyTo, ready)) },
  LEAFSET_REPLY: { actions: step<'LEAFSET_REPLY'>((c, e) => H.onLeafSetReply(c, e.from, e)) },
  PROBE_FAILED: { actions: step<'PROBE_FAILED'>((c, e) => H.onProbeFailed(c, e.to)) },
  HELLO: { actions: step<'HELLO'>((c, e) => H.onHello(c, e.from)) },
  ROUTE_IN: { actions: step<'ROUTE_IN'>((c, e) => H.onRouteIn(c, e.msg, ready)) },
  ROUTE: { actions: step<'ROUTE'>((c, e) => H.onRouteLocal(c, e.msg, ready)) },
  FORWARD_FAILED: { actions: step<'FORWARD_FAILED'>((c, e) => H.onForwardFailed(c, e.pending, e.to, e.code)) },
});

export const routerMachine = routerSetup.createMachine({
  id: 'router',
  context: ({ input }) => initialContext(input),
  initial: 'joining',
  states: {
    joining: {
      initial: 'seeking',
      on: common(false),
      states: {
        seeking: {
          entry: step(H.startJoin),
          on: {
            JOIN_ACK: [
              { guard: ({ event }) => event.accepted, target: 'awaitingReply' },
              { target: '#router.failed', actions: step<'JOIN_ACK'>((c, e) => H.joinRefused(c, e.reason ?? 'refused')) },
            ],
            // Nobody serves the join subject: this is the ring's first node.
            JOIN_NO_RESPONDERS: { target: '#router.ready', actions: step((c) => H.becomeReady(c, true)) },
            JOIN_UNANSWERED: 'backoff',
            JOIN_REPLY: 'announcing',
          },
        },
        awaitingReply: {
          on: { JOIN_REPLY: 'announcing' },
          after: { joinTimeout: 'backoff' },
        },
        backoff: {
          after: {
            joinTimeout: [{ guard: 'canRetryJoin', target: 'seeking' }, { target: '#router.failed', actions: step(H.joinGaveUp) }],
          },
        },
        announcing: {
          entry: step<'JOIN_REPLY'>((c, e) => H.onJoinReply(c, e)),
          always: [
            { guard: 'refusedOrFailed', target: '#router.failed' },
            { guard: 'announceComplete', target: '#router.ready', actions: step((c) => H.becomeReady(c, false)) },
          ],
          on: {
            ANNOUNCE_ACK: { actions: step<'ANNOUNCE_ACK'>((c, e) => H.onAnnounceAck(c, e)) },
            ANNOUNCE_FAILED: { actions: step<'ANNOUNCE_FAILED'>((c, e) => H.onAnnounceFailed(c, e.to)) },
          },
          // Safety net: a lost reply or failure event must not keep a node from ever being ready.
          after: { announceTimeout: { target: '#router.ready', actions: step((c) => H.becomeReady(c, false)) } },
        },
      },
    },
    ready: {
      type: 'parallel',
      on: {
        ...common(true),
        JOIN_REQUEST: { actions: step<'JOIN_REQUEST'>((c, e) => H.onJoinRequest(c, e.joiner, e.replyTo, e.msgId)) },
        DISCOVER: { actions: step<'DISCOVER'>((c, e) => H.onDiscover(c, e.from)) },
        ANNOUNCE_ACK: { actions: step<'ANNOUNCE_ACK'>((c, e) => H.onLateAnnounceAck(c, e)) },
        ANNOUNCE_FAILED: { actions: step<'ANNOUNCE_FAILED'>((c, e) => H.onProbeFailed(c, e.to)) },
      },
      states: {
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: {
              after: { heartbeatInterval: { target: 'waiting', reenter: true, actions: step(H.onTick) } },
            },
          },
        },
        leafSet: {
          initial: 'stable',
          states: {
            stable: { always: { guard: 'probing', target: 'repairing' } },
            repairing: { always: { guard: ({ context }) => Object.keys(context.probing).length === 0, target: 'stable' } },
          },
        },
      },
    },
    failed: {
      type: 'final',
      entry: assign({ held: [] }),
    },
  },
});

export type RouterMachine = typeof routerMachine;
