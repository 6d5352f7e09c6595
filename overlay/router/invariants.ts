// Invariants of the router's state, checked after every transition in tests (TigerBeetle style).
// A violation is a programming error, not an operating condition.
import { cwDistance } from '../id';
import { members } from '../leafSet';
import type { RouterContext } from './state';

export function routerInvariantViolations(ctx: RouterContext, state: 'joining' | 'ready' | 'failed'): string[] {
  const out: string[] = [];
  const { leafSet: ls, config } = ctx;
  const self = config.self;
  if (ls.self !== self) out.push('leaf set belongs to another node');
  if (ls.cw.length > config.leafHalf || ls.ccw.length > config.leafHalf) out.push(`a leaf-set side exceeds ${config.leafHalf}`);
  if (ls.cw.includes(self) || ls.ccw.includes(self)) out.push('node is in its own leaf set');
  for (let i = 1; i < ls.cw.length; i++) if (cwDistance(self, ls.cw[i - 1]!) >= cwDistance(self, ls.cw[i]!)) out.push('clockwise side out of order');
  for (let i = 1; i < ls.ccw.length; i++) if (cwDistance(ls.ccw[i - 1]!, self) >= cwDistance(ls.ccw[i]!, self)) out.push('counter-clockwise side out of order');
  const m = new Set(members(ls));
  for (const id of Object.keys(ctx.lastHeard)) if (!m.has(id)) out.push(`liveness kept for non-member ${id.slice(0, 8)}`);
  for (const id of m) if (ctx.dead[id] !== undefined) out.push(`member ${id.slice(0, 8)} is also marked dead`);
  for (const row of Object.values(ctx.table.rows)) if (row.includes(self)) out.push('node is in its own routing table');
  if (state === 'ready' && Object.keys(ctx.announcing).length > 0) out.push('ready while still announcing');
  if (state === 'ready' && ctx.held.length > 0) out.push('ready with held messages');
  if (state === 'failed' && !ctx.failure) out.push('failed without a reason');
  return out;
}
