// Requests that cross organisations (DESIGN 2, 5; issue 6). A node asks one of its own gateways
// (subjects.gateway, queue group); that gateway asks one of the target organisation's gateways in the
// global ring (subjects.ringGateways); that one performs the request inside its own ring. Only lookups
// (signed objects, blocks: reading what the owner's ring holds) and inbox-drop notifications cross.
import { bool, bytes, hexBytes, obj, opt, str, tagged } from './codec';
import { defineFrame } from './frame';
import { BLOCK_BYTES_MAX, FIELD_CHARS_MAX, FRAME_BYTES_MAX, ID_BYTES } from './limits';
import { envelopeCodec } from './notify';

const id = hexBytes(ID_BYTES);

export const gatewayRequestCodec = tagged({
  /** Read a signed object (directory record, identity record) held by the target ring. */
  objectGet: obj({ objectId: id }),
  /** Read a block (message content) held by the target ring. */
  blockGet: obj({ id }),
  /** Store a notification in a recipient's inbox drop in the target ring. */
  dropPut: obj({ dropId: id, envelope: envelopeCodec }),
});

export const GatewayRequest = defineFrame('gateway.request', obj({ targetRing: id, request: gatewayRequestCodec }));
export const GatewayReply = defineFrame(
  'gateway.reply',
  obj({
    ok: bool(),
    /** objectGet: the encoded signed object; blockGet: the block. Absent when not found. */
    data: opt(bytes({ max: Math.max(BLOCK_BYTES_MAX, FRAME_BYTES_MAX / 2) })),
    code: opt(str({ max: 64 })),
    message: opt(str({ max: FIELD_CHARS_MAX })),
  }),
);
