// Schema codecs: each wire field is described once, and the description both encodes a value for
// msgpack and validates + decodes what arrives. Decoding never trusts the input: every size is bounded
// and every failure is a FrameError naming the field, so a bad frame is dropped with a reason.

export class FrameError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'FrameError';
  }
}

export interface Codec<T> {
  encode(value: T): unknown;
  /** Validate and decode `wire`; `path` names the field for error messages. */
  decode(wire: unknown, path: string): T;
}

export type Infer<C> = C extends Codec<infer T> ? T : never;

const fail = (path: string, what: string): never => {
  throw new FrameError(`${path || 'frame'}: ${what}`);
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export const bytes = (opts: { min?: number; max: number; len?: number }): Codec<Uint8Array> => ({
  encode: (v) => v,
  decode(w, path) {
    if (!(w instanceof Uint8Array)) return fail(path, `expected bytes, got ${describe(w)}`);
    if (opts.len !== undefined && w.length !== opts.len) return fail(path, `expected ${opts.len} bytes, got ${w.length}`);
    if (w.length > opts.max) return fail(path, `${w.length} bytes exceeds ${opts.max}`);
    if (opts.min !== undefined && w.length < opts.min) return fail(path, `${w.length} bytes is under ${opts.min}`);
    return w;
  },
});

const HEX = /^[0-9a-f]*$/;

/** A fixed-length id kept as lowercase hex in memory and as raw bytes on the wire. */
export const hexBytes = (len: number): Codec<string> => ({
  encode: (v) => Buffer.from(v, 'hex'),
  decode(w, path) {
    if (!(w instanceof Uint8Array)) return fail(path, `expected ${len}-byte id, got ${describe(w)}`);
    if (w.length !== len) return fail(path, `expected ${len}-byte id, got ${w.length} bytes`);
    return Buffer.from(w.buffer, w.byteOffset, w.length).toString('hex');
  },
});

export const str = (opts: { max: number; pattern?: RegExp }): Codec<string> => ({
  encode: (v) => v,
  decode(w, path) {
    if (typeof w !== 'string') return fail(path, `expected string, got ${describe(w)}`);
    if (w.length > opts.max) return fail(path, `string of ${w.length} chars exceeds ${opts.max}`);
    if (opts.pattern && !opts.pattern.test(w)) return fail(path, `string does not match ${opts.pattern}`);
    return w;
  },
});

export const hexStr = (len: number): Codec<string> => str({ max: len, pattern: new RegExp(`^[0-9a-f]{${len}}$`) });

export const uint = (opts: { max?: number } = {}): Codec<number> => ({
  encode: (v) => v,
  decode(w, path) {
    if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 0) return fail(path, `expected unsigned integer, got ${describe(w)}`);
    if (opts.max !== undefined && w > opts.max) return fail(path, `${w} exceeds ${opts.max}`);
    return w;
  },
});

export const bool = (): Codec<boolean> => ({
  encode: (v) => v,
  decode: (w, path) => (typeof w === 'boolean' ? w : fail(path, `expected boolean, got ${describe(w)}`)),
});

export const literal = <T extends string | number>(value: T): Codec<T> => ({
  encode: (v) => v,
  decode: (w, path) => (w === value ? value : fail(path, `expected ${JSON.stringify(value)}`)),
});

export const oneOf = <T extends string>(values: readonly T[]): Codec<T> => ({
  encode: (v) => v,
  decode: (w, path) => ((values as readonly unknown[]).includes(w) ? (w as T) : fail(path, `expected one of ${values.join('|')}`)),
});

export const arr = <T>(item: Codec<T>, opts: { max: number; min?: number }): Codec<T[]> => ({
  encode: (v) => v.map((x) => item.encode(x)),
  decode(w, path) {
    if (!Array.isArray(w)) return fail(path, `expected array, got ${describe(w)}`);
    if (w.length > opts.max) return fail(path, `array of ${w.length} exceeds ${opts.max}`);
    if (opts.min !== undefined && w.length < opts.min) return fail(path, `array of ${w.length} is under ${opts.min}`);
    return w.map((x, i) => item.decode(x, `${path}[${i}]`));
  },
});

export const opt = <T>(inner: Codec<T>): Codec<T | undefined> => ({
  encode: (v) => (v === undefined ? null : inner.encode(v)),
  decode: (w, path) => (w === undefined || w === null ? undefined : inner.decode(w, path)),
});

type Shape = Record<string, Codec<any>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

function isPlainObject(w: unknown): w is Record<string, unknown> {
  return typeof w === 'object' && w !== null && !Array.isArray(w) && !(w instanceof Uint8Array);
}

/** A record; unknown fields are ignored (newer senders may add optional fields). */
export const obj = <S extends Shape>(shape: S): Codec<ObjOf<S>> => {
  const keys = Object.keys(shape);
  return {
    encode(v) {
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = shape[k]!.encode(x);
      }
      return out;
    },
    decode(w, path) {
      if (!isPlainObject(w)) return fail(path, `expected map, got ${describe(w)}`);
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const x = shape[k]!.decode(w[k], path ? `${path}.${k}` : k);
        if (x !== undefined) out[k] = x;
      }
      return out as ObjOf<S>;
    },
  };
};

/** A string-keyed map with bounded size. */
export const dict = <T>(value: Codec<T>, opts: { max: number; keyMax: number }): Codec<Record<string, T>> => ({
  encode(v) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = value.encode(x);
    return out;
  },
  decode(w, path) {
    if (!isPlainObject(w)) return fail(path, `expected map, got ${describe(w)}`);
    const entries = Object.entries(w);
    if (entries.length > opts.max) return fail(path, `map of ${entries.length} exceeds ${opts.max}`);
    const out: Record<string, T> = {};
    for (const [k, x] of entries) {
      if (k.length > opts.keyMax) return fail(path, `key of ${k.length} chars exceeds ${opts.keyMax}`);
      out[k] = value.decode(x, `${path}.${k}`);
    }
    return out;
  },
});

/** A union of records told apart by a `type` field. */
export const tagged = <M extends Record<string, Codec<any>>>(
  variants: M,
): Codec<{ [K in keyof M]: { type: K } & Infer<M[K]> }[keyof M]> => ({
  encode(v: any) {
    const c = variants[v.type];
    if (!c) throw new Error(`tagged: unknown variant ${String(v.type)}`);
    return { ...(c.encode(v) as object), type: v.type };
  },
  decode(w, path) {
    if (!isPlainObject(w)) return fail(path, `expected map, got ${describe(w)}`);
    const t = w.type;
    if (typeof t !== 'string' || !Object.hasOwn(variants, t)) return fail(path, `unknown type ${JSON.stringify(t)}`);
    return { ...(variants[t]!.decode(w, path) as object), type: t } as any;
  },
});

/** Anything msgpack carries, unchecked: only for opaque payloads checked later by their owner. */
export const opaque = (): Codec<unknown> => ({ encode: (v) => v, decode: (w) => w });

export const isHex = (s: string): boolean => HEX.test(s);
