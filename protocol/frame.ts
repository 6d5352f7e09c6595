// Versioned msgpack frames: [version, kind, body]. Every kind registers its body codec once; every
// incoming frame is size-checked, decoded with bounded lengths, version- and kind-checked and
// validated before anyone uses it. Failures are values (`{ ok: false, reason }`), never throws.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { type Codec, FrameError } from './codec';
import { FIELD_CHARS_MAX, FRAME_BYTES_MAX, FRAME_LIST_MAX, PROTOCOL_VERSION } from './limits';

export interface FrameKind<T> {
  readonly kind: string;
  readonly codec: Codec<T>;
  encode(body: T): Uint8Array;
  /** Decode a frame that must be of this kind. */
  decode(bytes: Uint8Array): DecodeResult<T>;
}

export type DecodeResult<T> = { ok: true; body: T } | { ok: false; reason: string };
export type AnyFrame = { kind: string; body: unknown };

const registry = new Map<string, FrameKind<any>>();

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({
  maxStrLength: FRAME_BYTES_MAX,
  maxBinLength: FRAME_BYTES_MAX,
  maxArrayLength: FRAME_LIST_MAX,
  maxMapLength: FRAME_LIST_MAX,
  maxExtLength: 0,
});

export function defineFrame<T>(kind: string, codec: Codec<T>): FrameKind<T> {
  if (registry.has(kind)) throw new Error(`frame kind ${kind} defined twice`);
  const fk: FrameKind<T> = {
    kind,
    codec,
    encode: (body) => encoder.encode([PROTOCOL_VERSION, kind, codec.encode(body)]),
    decode(bytes) {
      const r = decodeFrame(bytes);
      if (!r.ok) return r;
      if (r.frame.kind !== kind) return { ok: false, reason: `expected ${kind}, got ${r.frame.kind}` };
      return { ok: true, body: r.frame.body as T };
    },
  };
  registry.set(kind, fk);
  return fk;
}

export type FrameResult = { ok: true; frame: AnyFrame } | { ok: false; reason: string };

/** Decode any registered frame. Never throws. */
export function decodeFrame(bytes: Uint8Array): FrameResult {
  if (bytes.length > FRAME_BYTES_MAX) return { ok: false, reason: `frame of ${bytes.length} bytes exceeds ${FRAME_BYTES_MAX}` };
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    return { ok: false, reason: `not msgpack: ${(e as Error).message.slice(0, 200)}` };
  }
  if (!Array.isArray(raw) || raw.length !== 3) return { ok: false, reason: 'not a [version, kind, body] frame' };
  const [version, kind, body] = raw;
  if (version !== PROTOCOL_VERSION) return { ok: false, reason: `unknown protocol version ${String(version).slice(0, 20)}` };
  if (typeof kind !== 'string' || kind.length > FIELD_CHARS_MAX) return { ok: false, reason: 'frame kind is not a string' };
  const fk = registry.get(kind);
  if (!fk) return { ok: false, reason: `unknown frame kind ${kind.slice(0, 64)}` };
  try {
    return { ok: true, frame: { kind, body: fk.codec.decode(body, kind) } };
  } catch (e) {
    if (e instanceof FrameError) return { ok: false, reason: e.reason };
    return { ok: false, reason: `invalid ${kind}: ${(e as Error).message}` };
  }
}

export function isKind<T>(frame: AnyFrame, fk: FrameKind<T>): frame is { kind: string; body: T } {
  return frame.kind === fk.kind;
}

/** The body type of a frame kind. */
export type BodyOf<F> = F extends FrameKind<infer T> ? T : never;

/** A handler of one frame kind, its body typed by the kind's codec (see `on` and `frameHandlers`). */
export interface KindHandler<A extends unknown[], R> {
  readonly kind: string;
  readonly handle: (body: unknown, ...args: A) => R;
}

/** The handler of frames of kind `fk`: it receives their body as the codec decoded it. */
export function on<T, A extends unknown[], R>(fk: FrameKind<T>, handle: (body: T, ...args: A) => R): KindHandler<A, R> {
  // decodeFrame decoded this body with fk's codec: its type is T (the one place this is asserted).
  return { kind: fk.kind, handle: (body, ...args) => handle(body as T, ...args) };
}

/**
 * One handler per frame kind (libp2p's rpc handlers): a frame goes to the handler of its kind, with
 * its typed body; `unhandled` answers kinds without one. Two handlers for one kind are a bug.
 */
export function frameHandlers<A extends unknown[], R>(handlers: readonly KindHandler<A, R>[], unhandled: (frame: AnyFrame, ...args: A) => R): (frame: AnyFrame, ...args: A) => R {
  const byKind = new Map<string, KindHandler<A, R>['handle']>();
  for (const h of handlers) {
    if (byKind.has(h.kind)) throw new Error(`two handlers for frame kind ${h.kind}`);
    byKind.set(h.kind, h.handle);
  }
  return (frame, ...args) => {
    const handle = byKind.get(frame.kind);
    return handle ? handle(frame.body, ...args) : unhandled(frame, ...args);
  };
}

/** Canonical msgpack of a value (for signing fixed field layouts); same encoder as frames. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(value);
}
