// Operator requests to one node (the `post` command, the lab, the dashboard), on the node's control
// subject. Replies carry JSON documents: this is the operator's view, not a protocol between nodes.
import { bool, hexBytes, obj, opt, str, uint } from './codec';
import { defineFrame } from './frame';
import { FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES } from './limits';

export const StatusRequest = defineFrame('control.status.request', obj({}));

export const RouteProbeRequest = defineFrame(
  'control.route.request',
  obj({ key: hexBytes(ID_BYTES), timeoutMs: opt(uint({ max: 600_000 })) }),
);
export const ControlReply = defineFrame(
  'control.reply',
  obj({ ok: bool(), json: opt(str({ max: FRAME_BYTES_MAX })), code: opt(str({ max: 64 })), error: opt(str({ max: FIELD_CHARS_MAX })) }),
);
