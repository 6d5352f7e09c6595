// The router as the other actors reach it: a handle, like an OTP registered name, that always means
// the node's running RouterService. The supervisor builds a fresh RouterService for every start of the
// router child (its machine, subscriptions, routes in flight, replay window and message ids are new,
// and it joins the ring again); the handle gives each new one the frame and application handlers the
// other actors registered, and carries its membership and state changes on streams that outlive it.
// The handle holds no router state of its own.
import { Subject, type Subscription } from 'rxjs';
import type { Key, NodeId } from '../overlay/id';
import type { AppHandler, FrameHandler, MembershipChange, RouteOutcome, RouterService } from './router';

/** What the other actors use of the router. */
export type RouterApi = Pick<
  RouterService,
  'self' | 'cert' | 'state' | 'snapshot' | 'leafSet' | 'knowsReplicas' | 'replicaSet' | 'route' | 'registerApp' | 'registerFrames' | 'status' | 'membership$' | 'stateChanges$'
>;

export class RouterHandle implements RouterApi {
  readonly membership$ = new Subject<MembershipChange>();
  readonly stateChanges$ = new Subject<string>();
  private readonly apps = new Map<string, AppHandler>();
  private readonly frames = new Map<string, FrameHandler>();
  private router!: RouterService;
  private links: Subscription[] = [];

  constructor(router: RouterService) {
    this.adopt(router);
  }

  /** The router the supervisor (re)started: wire it like its predecessor. */
  adopt(router: RouterService): void {
    for (const link of this.links.splice(0)) link.unsubscribe();
    this.router = router;
    for (const [app, handler] of this.apps) router.registerApp(app, handler);
    for (const [prefix, handler] of this.frames) router.registerFrames(prefix, handler);
    this.links.push(
      router.membership$.subscribe((change) => this.membership$.next(change)),
      router.stateChanges$.subscribe((state) => this.stateChanges$.next(state)),
    );
  }

  /** The running router object (tests check a restart built a new one). */
  get current(): RouterService {
    return this.router;
  }

  get self(): NodeId {
    return this.router.self;
  }

  get cert() {
    return this.router.cert;
  }

  get state() {
    return this.router.state;
  }

  get snapshot() {
    return this.router.snapshot;
  }

  leafSet(): NodeId[] {
    return this.router.leafSet();
  }

  knowsReplicas(key: Key, k: number): boolean {
    return this.router.knowsReplicas(key, k);
  }

  replicaSet(key: Key, k: number): NodeId[] {
    return this.router.replicaSet(key, k);
  }

  route(key: Key, opts?: Parameters<RouterService['route']>[1]): Promise<RouteOutcome> {
    return this.router.route(key, opts);
  }

  registerApp(app: string, handler: AppHandler): void {
    this.apps.set(app, handler);
    this.router.registerApp(app, handler);
  }

  registerFrames(prefix: string, handler: FrameHandler): void {
    this.frames.set(prefix, handler);
    this.router.registerFrames(prefix, handler);
  }

  status() {
    return this.router.status();
  }

  injectCrash(): void {
    this.router.injectCrash();
  }
}
