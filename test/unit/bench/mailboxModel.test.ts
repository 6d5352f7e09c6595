// The mixed workload's consistency checker: replies that agree with what the only client of a
// mailbox did pass; a wrong FLAGS, a lost or unexpected message, a wrong EXPUNGE, a changed UID or a
// wrong body are each an error.
import { describe, expect, it } from 'vitest';
import { MailboxModel } from '../../../bench/mail/mailboxModel';
import { UnitReader, type ImapReply, type ResponseUnit } from '../../../bench/mail/rawImap';

function rawUnits(text: string): ResponseUnit[] {
  const found: ResponseUnit[] = [];
  new UnitReader().push(Buffer.from(text, 'latin1'), (u) => found.push(u));
  return found;
}

const units = (...lines: string[]) => rawUnits(lines.map((l) => `${l}\r\n`).join(''));

const reply = (untagged: string[], code = ''): ImapReply => ({ tag: 'b1', status: 'OK', code, text: 'done', untagged: units(...untagged), ms: 1 });

/** A model that appended UIDs 1 and 2 (\Seen on 1) and selected the mailbox. */
function selected(): MailboxModel {
  const model = new MailboxModel();
  model.applyAppend(reply([], 'APPENDUID 9 1'), { flags: new Set(['\\Seen']), size: 10, messageId: '<a@x>' });
  model.applyAppend(reply([], 'APPENDUID 9 2'), { flags: new Set(), size: 12, messageId: '<b@x>' });
  model.applySelect(reply(['* 2 EXISTS', '* 0 RECENT', '* OK [UIDVALIDITY 9] ok', '* OK [UIDNEXT 3] ok']));
  return model;
}

describe('mixed workload: the mailbox model checks every reply', () => {
  it('mailbox model: replies that agree with the client raise no error', () => {
    const model = selected();
    const { fetched } = model.applyUntagged('FETCH', units('* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))', '* 2 FETCH (UID 2 FLAGS ())'), false);
    model.checkFetchAll(fetched);
    const message = model.byUid(2)!;
    message.flags.add('\\Deleted');
    const store = model.applyUntagged('STORE', units('* 2 FETCH (UID 2 FLAGS (\\Deleted))'), false);
    model.checkStored(store.fetched, message);
    const { expunged } = model.applyUntagged('EXPUNGE', units('* 2 EXPUNGE'), true);
    model.checkExpunged([message], expunged);
    model.applyAppend(reply([], 'APPENDUID 9 3'), { flags: new Set(), size: 5, messageId: '<c@x>' });
    model.applyUntagged('APPEND', units('* 2 EXISTS'), false);
    expect(model.errors).toEqual([]);
    expect(model.view.map((m) => m.uid)).toEqual([1, 3]);
  });

  it('mailbox model: a wrong FLAGS is an error', () => {
    const model = selected();
    model.applyUntagged('FETCH', units('* 1 FETCH (UID 1 FLAGS ())'), false);
    expect(model.errors).toEqual(['FETCH: UID 1 has FLAGS (), expected (\\Seen)']);
  });

  it('mailbox model: a UID that changes under a sequence number is an error', () => {
    const model = selected();
    model.applyUntagged('FETCH', units('* 2 FETCH (UID 5 FLAGS ())'), false);
    expect(model.errors[0]).toMatch(/sequence number 2 has UID 5, expected 2/);
  });

  it('mailbox model: an EXPUNGE of a message not \\Deleted, and one that stays, are errors', () => {
    const model = selected();
    const deleted = model.byUid(2)!;
    deleted.flags.add('\\Deleted');
    const { expunged } = model.applyUntagged('EXPUNGE', units('* 1 EXPUNGE'), true);
    model.checkExpunged([deleted], expunged);
    expect(model.errors).toEqual(['EXPUNGE removed UID 1, which was not \\Deleted', 'EXPUNGE left UID 2, which was \\Deleted']);
  });

  it('mailbox model: an EXPUNGE during FETCH is an error', () => {
    const model = selected();
    model.applyUntagged('FETCH', units('* 1 EXPUNGE'), false);
    expect(model.errors[0]).toMatch(/must not expunge/);
  });

  it('mailbox model: a lost message, a message from nowhere, a changed UIDVALIDITY are errors', () => {
    const lost = selected();
    lost.applySelect(reply(['* 1 EXISTS', '* OK [UIDVALIDITY 9] ok']));
    expect(lost.errors[0]).toMatch(/1 EXISTS, the mailbox holds 2/);
    const extra = selected();
    extra.applyUntagged('NOOP', units('* 3 EXISTS'), false);
    expect(extra.errors[0]).toMatch(/only 0 were appended/);
    const validity = selected();
    validity.applySelect(reply(['* 2 EXISTS', '* OK [UIDVALIDITY 10] ok']));
    expect(validity.errors).toEqual(['SELECT: UIDVALIDITY changed from 9 to 10']);
  });

  it('mailbox model: an APPENDUID not above every UID, and a body that is not the one appended, are errors', () => {
    const model = selected();
    model.applyAppend(reply([], 'APPENDUID 9 2'), { flags: new Set(), size: 5, messageId: '<c@x>' });
    expect(model.errors[0]).toMatch(/new UID 2 is not above UID 2/);
    const bodies = selected();
    const body = 'Subject: x\r\n'; // 12 bytes, as appended, but not the message appended (no Message-ID <b@x>)
    const { fetched } = bodies.applyUntagged('FETCH', rawUnits(`* 2 FETCH (UID 2 BODY[] {${body.length}}\r\n${body})\r\n`), false);
    bodies.checkBody(fetched, bodies.byUid(2)!);
    expect(bodies.errors).toEqual(['UID FETCH 2 BODY.PEEK[]: the body is not the message appended under that UID']);
  });
});
