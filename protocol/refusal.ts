// The answer to a request a node could not take at all: its frame failed validation (BAD_FRAME) or
// authentication (UNSIGNED, NOT_AUTHORISED, ...). Sent on the request's reply subject, so a requester
// learns at once what a silent drop would have told it only at its timeout.
import { obj, str } from './codec';
import { defineFrame } from './frame';
import { FIELD_CHARS_MAX } from './limits';

export const FrameRefused = defineFrame('frame.refused', obj({ code: str({ max: 64 }), reason: str({ max: FIELD_CHARS_MAX }) }));
