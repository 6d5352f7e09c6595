// The router's authenticated channel (issue 12): every overlay frame it sends goes out inside an
// OverlayAuth envelope (MACed to a receiver whose certificate it holds, signed otherwise), and every
// envelope it receives is checked before the frame inside becomes anything: the sender's certificate
// against the ring's CA (remembered by its signature until it expires), the stamp against the clock,
// the MAC or signature, then the stamp against replays. Synchronous, so frames keep their order.
import type { CertCheck } from '../crypto/certificates';
import { channelKeyOf, channelSecretOf, type OverlayFrameFields, overlayMac, overlayMacMatches, signOverlay, verifyOverlay } from '../crypto/overlayAuth';
import { StampWindow } from '../crypto/replay';
import type { Clock } from '../infra/ports';
import type { NodeId } from '../overlay/id';
import type { OutFrame } from '../overlay/router/state';
import { ErrorCodes, type ErrorCode } from '../protocol/errors';
import { type AnyFrame, decodeFrame } from '../protocol/frame';
import type { NodeCertificate } from '../protocol/identity';
import { OVERLAY_CLOCK_SKEW_MS, OVERLAY_PEERS_MAX, OVERLAY_REORDER_WINDOW_MS, OVERLAY_STAMPS_PER_PEER_MAX } from '../protocol/limits';
import { decodeNodeCertificate, encodeNodeCertificate, OverlayAuth, type OverlayAuthBody } from '../protocol/overlay';

export interface ChannelDeps {
  readonly ringId: string;
  readonly cert: NodeCertificate;
  readonly signingSecretKey: Uint8Array;
  readonly clock: Clock;
  /** Is this certificate a member's of the ring (synchronous: frames are checked in arrival order)? */
  readonly verifyPeer: (cert: NodeCertificate, nowMs: number) => CertCheck;
}

/** Why an envelope was refused: the label of post_overlay_forged_total ('echo', our own broadcast, is not counted). */
export type ForgeryReason = 'echo' | 'unsigned' | 'self' | 'misaddressed' | 'stale' | 'bad_mac' | 'bad_signature' | 'replayed' | 'bad_frame' | 'certificate';

export type Opened =
  | { ok: true; from: NodeId; to: NodeId | undefined; frame: AnyFrame }
  /**
   * Refused. `presented` is set when only the certificate failed while the signature verified
   * under the key it presents: a node that is not (or no longer) a member, told why, not a forger.
   */
  | { ok: false; reason: ForgeryReason; detail: string; code: ErrorCode; presented?: { cert: NodeCertificate; frame: AnyFrame } };

interface Peer {
  readonly ok: true;
  /** The certificate as its envelopes carry it: a frame with the same bytes needs no new check. */
  readonly certBytes: Buffer;
  readonly signingKey: Uint8Array;
  readonly expiresAtMs: number;
  readonly channelKey: Uint8Array | undefined;
}

export class OverlayChannel {
  private readonly self: NodeId;
  private readonly ownSecret: Uint8Array;
  private readonly ownCert: Uint8Array;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly stamps = new StampWindow({
    skewUs: OVERLAY_CLOCK_SKEW_MS * 1000,
    reorderUs: OVERLAY_REORDER_WINDOW_MS * 1000,
    sendersMax: OVERLAY_PEERS_MAX,
    perSenderMax: OVERLAY_STAMPS_PER_PEER_MAX,
  });
  private lastStampUs = 0;

  constructor(private readonly deps: ChannelDeps) {
    this.self = deps.cert.nodeId;
    this.ownSecret = channelSecretOf(deps.signingSecretKey);
    this.ownCert = encodeNodeCertificate(deps.cert);
  }

  /** Wrap a frame for `to` (MACed when its key is known, signed otherwise), or for anyone (signed). */
  seal(frame: OutFrame, to?: NodeId): Uint8Array {
    const inner = frame.kind.encode(frame.body);
    const fields: OverlayFrameFields = { ringId: this.deps.ringId, from: this.self, to, stampUs: this.nextStamp(), frame: inner };
    const key = to === undefined ? undefined : this.peers.get(to)?.channelKey;
    const proof = key ? { mac: overlayMac(key, fields) } : { signature: signOverlay(this.deps.signingSecretKey, fields) };
    return OverlayAuth.encode({ from: this.self, cert: this.ownCert, to, stampUs: fields.stampUs, frame: inner, ...proof });
  }

  /** Check an envelope; on success, the authenticated sender and the inner frame (decoded). */
  open(env: OverlayAuthBody): Opened {
    const from = env.from;
    const nowMs = this.deps.clock.now();
    const fields: OverlayFrameFields = { ringId: this.deps.ringId, from, to: env.to, stampUs: env.stampUs, frame: env.frame };
    const refuse = (reason: ForgeryReason, detail: string, code: ErrorCode = ErrorCodes.NOT_AUTHORISED): Opened => ({ ok: false, reason, detail, code });
    if (from === this.self) {
      // A node alone listens on the discover subject it broadcasts to: its own broadcast comes back.
      const own = env.to === undefined && env.signature !== undefined && verifyOverlay(this.deps.cert.signingKey, fields, env.signature);
      return own ? refuse('echo', 'our own broadcast') : refuse('self', 'a frame claiming to come from this node');
    }
    if (env.to !== undefined && env.to !== this.self) return refuse('misaddressed', `a frame for node ${env.to.slice(0, 12)}`);
    if (!this.stamps.fresh(env.stampUs, nowMs * 1000))
      return refuse('stale', `stamped ${Math.round((env.stampUs / 1000 - nowMs) / 1000)} s from this node's clock (a replay, or clocks apart: check NTP)`, ErrorCodes.STALE);
    const peer = this.peerOf(from, env.cert, nowMs);
    if (!peer.ok) {
      // A signature under the presented key still tells a misconfigured node (refused with reasons) from a forger.
      const cert = peer.presented;
      const signed = cert !== undefined && env.signature !== undefined && verifyOverlay(cert.signingKey, fields, env.signature);
      const frame = signed ? decodeFrame(env.frame) : undefined;
      return { ok: false, reason: 'certificate', detail: peer.reason, code: peer.code, ...(frame?.ok ? { presented: { cert: cert!, frame: frame.frame } } : {}) };
    }
    if (env.mac) {
      if (!peer.channelKey || !overlayMacMatches(peer.channelKey, fields, env.mac)) return refuse('bad_mac', `a MAC that is not node ${from.slice(0, 12)}'s`, ErrorCodes.BAD_SIGNATURE);
    } else if (env.signature) {
      if (!verifyOverlay(peer.signingKey, fields, env.signature)) return refuse('bad_signature', `a signature that is not node ${from.slice(0, 12)}'s`, ErrorCodes.BAD_SIGNATURE);
    } else return refuse('unsigned', 'an envelope with neither MAC nor signature', ErrorCodes.UNSIGNED);
    if (this.stamps.accept(from, env.stampUs) !== 'ok') return refuse('replayed', `stamp ${env.stampUs} of node ${from.slice(0, 12)} was already taken`, ErrorCodes.REPLAYED);
    const inner = decodeFrame(env.frame);
    if (!inner.ok) return refuse('bad_frame', inner.reason, ErrorCodes.BAD_FRAME);
    if (inner.frame.kind === OverlayAuth.kind) return refuse('bad_frame', 'an envelope inside an envelope', ErrorCodes.BAD_FRAME);
    return { ok: true, from, to: env.to, frame: inner.frame };
  }

  /**
   * The sender's certificate, checked once per certificate (and again once it has expired). When it
   * fails, `presented` is the certificate as decoded, if it was one of `from` at all.
   */
  private peerOf(from: NodeId, certBytes: Uint8Array, nowMs: number): Peer | { ok: false; code: ErrorCode; reason: string; presented?: NodeCertificate } {
    const known = this.peers.get(from);
    if (known && nowMs < known.expiresAtMs && known.certBytes.equals(certBytes)) return known;
    const decoded = decodeNodeCertificate(certBytes);
    if (!decoded.ok) return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `node ${from.slice(0, 12)} sent no certificate: ${decoded.reason}` };
    const cert = decoded.cert;
    if (cert.nodeId !== from) return { ok: false, code: ErrorCodes.CERT_INVALID, reason: `a frame from ${from.slice(0, 12)} carries the certificate of ${cert.nodeId.slice(0, 12)}` };
    const check = this.deps.verifyPeer(cert, nowMs);
    if (!check.ok) return { ...check, presented: cert };
    const peer: Peer = {
      ok: true,
      certBytes: Buffer.from(certBytes),
      signingKey: cert.signingKey,
      expiresAtMs: cert.expiresAtMs,
      channelKey: channelKeyOf(this.ownSecret, this.deps.cert.signingKey, cert.signingKey),
    };
    this.peers.delete(from);
    if (this.peers.size >= OVERLAY_PEERS_MAX) this.peers.delete(this.peers.keys().next().value!);
    this.peers.set(from, peer);
    return peer;
  }

  /** Microseconds of this node's clock, never the same twice. */
  private nextStamp(): number {
    this.lastStampUs = Math.max(Math.floor(this.deps.clock.now() * 1000), this.lastStampUs + 1);
    return this.lastStampUs;
  }
}
