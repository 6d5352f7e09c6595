// XEP-0198's pure parts: the counters and the unacknowledged queue (xmpp/streamManagement.ts), and
// the ledger that keeps a record beyond the user's `seen` count until some client acknowledged it
// (xmpp/deliveryLedger.ts).
import { describe, expect, test } from 'vitest';
import { XMPP_SM_RESUME_HOLD_MS } from '../../../protocol/limits';
import { DeliveryLedger } from '../../../xmpp/deliveryLedger';
import { StreamManagement } from '../../../xmpp/streamManagement';
import { el } from '../../../xmpp/xml';

const enable = (attrs: Record<string, string>, newId: () => string | undefined = () => 'sm-1') => StreamManagement.enable(el('enable', { xmlns: 'urn:xmpp:sm:3', ...attrs }), newId);

describe('stream management state', () => {
  test('enable: resumption only when asked and the node can hold; the hold is the client\'s max when shorter', () => {
    expect(enable({}).reply.toString()).toBe('<enabled xmlns="urn:xmpp:sm:3"/>');
    expect(enable({}).sm.resumable).toBe(false);
    const asked = enable({ resume: 'true' });
    expect(asked.reply.attrs).toMatchObject({ id: 'sm-1', resume: 'true', max: String(XMPP_SM_RESUME_HOLD_MS / 1000) });
    expect(asked.sm.holdMs).toBe(XMPP_SM_RESUME_HOLD_MS);
    expect(enable({ resume: '1', max: '60' }).sm.holdMs).toBe(60_000);
    expect(enable({ resume: 'true', max: '999999' }).sm.holdMs).toBe(XMPP_SM_RESUME_HOLD_MS);
    const full = enable({ resume: 'true' }, () => undefined);
    expect([full.sm.resumable, full.reply.attr('id')]).toEqual([false, undefined]);
  });

  test('acks free a prefix of what was sent and name the records it delivered; h beyond what was sent is refused', () => {
    const { sm } = enable({ resume: 'true' });
    sm.sent('<presence/>');
    sm.sent('<message id="1"/>', 'rec-1');
    sm.sent('<message id="2"/>', 'rec-2');
    expect(sm.ack('4')).toEqual({ ok: false });
    expect(sm.ack('x')).toEqual({ ok: false });
    expect(sm.ack('2')).toEqual({ ok: true, records: ['rec-1'] });
    expect(sm.ack('2')).toEqual({ ok: true, records: [] });
    expect(sm.unackedRecords()).toEqual(['rec-2']);
    expect(sm.pending()).toEqual(['<message id="2"/>']);
    expect([sm.canAck('3'), sm.canAck('4'), sm.canAck(undefined)]).toEqual([true, false, false]);
  });

  test('h wraps at 2^32 on the wire', () => {
    const sm = new StreamManagement('id', 1000);
    sm.inbound = 2 ** 32 + 5;
    expect(sm.h).toBe('5');
    sm.outbound = 2 ** 32 + 1;
    sm.acked = 2 ** 32 - 1;
    sm.sent('<a/>', 'r1');
    sm.sent('<b/>', 'r2');
    expect(sm.ack('1')).toEqual({ ok: true, records: ['r1', 'r2'] });
  });
});

describe('delivery ledger', () => {
  test('a record given without stream management counts as seen at once; one awaiting an ack holds `seen` below it', () => {
    const ledger = new DeliveryLedger<string>(3);
    ledger.handed('r3', 3, [], true);
    expect(ledger.seen()).toBe(4);
    ledger.handed('r4', 4, ['phone'], false);
    ledger.handed('r5', 5, ['phone'], false);
    expect([ledger.given, ledger.seen()]).toEqual([6, 4]);
    ledger.acked(['r4']);
    expect(ledger.seen()).toBe(5);
    ledger.acked(['r5']);
    expect(ledger.seen()).toBe(6);
  });

  test('a session that ends with records unacknowledged returns them, unless another session still holds them or took them safely', () => {
    const ledger = new DeliveryLedger<string>(0);
    ledger.handed('r0', 0, ['phone', 'laptop'], false);
    ledger.handed('r1', 1, ['phone'], false);
    ledger.handed('r2', 2, ['phone'], true); // the desk has no stream management: it has it
    expect(ledger.ended('phone', ['r0', 'r1', 'r2'])).toEqual([{ key: 'r1', index: 1 }]);
    expect(ledger.returned()).toEqual([{ key: 'r1', index: 1 }]);
    expect(ledger.seen()).toBe(0);
    ledger.acked(['r0']);
    expect(ledger.seen()).toBe(1);
    // Handed again to a new session, acknowledged there: nothing is left outstanding.
    ledger.handed('r1', 1, ['tablet'], false);
    expect(ledger.returned()).toEqual([]);
    ledger.acked(['r1']);
    expect(ledger.seen()).toBe(3);
  });

  test('a resumed stream takes over the old session\'s records', () => {
    const ledger = new DeliveryLedger<string>(0);
    ledger.handed('r0', 0, ['old'], false);
    ledger.replace('old', 'new');
    expect(ledger.ended('old', ['r0'])).toEqual([]);
    expect(ledger.ended('new', ['r0'])).toEqual([{ key: 'r0', index: 0 }]);
  });
});
