// FETCH of metadata only is written as text without building values: the text must be byte for byte
// what the generic encoder makes of fetchValues, for every item, order, duplicate and flag set.
import { describe, expect, it } from 'vitest';
import { atom, encodeUntagged } from '../../../mail/imap/encoder';
import type { FetchItem, SimpleItem } from '../../../mail/imap/fetch/fetchItems';
import { fetchValues, metadataFetchLine, metadataNames, metadataOnly } from '../../../mail/imap/fetch/fetchResponse';
import type { ViewMessage } from '../../../mail/imap/selectedMailbox';
import { ImapSession } from '../../../mail/imap/session';

function session(rev2: boolean): ImapSession {
  const s = Object.create(ImapSession.prototype) as ImapSession & { enabled: Set<string> };
  Object.defineProperty(s, 'enabled', { value: new Set(rev2 ? ['IMAP4rev2'] : []) });
  return s;
}

const simple = (name: SimpleItem): FetchItem => ({ kind: 'simple', name });
const FLAG_SETS = [[], ['\\Seen'], ['\\Seen', '\\Answered', 'Work'], ['NIL', '$Forwarded'], ['nil']];
const ITEM_LISTS: SimpleItem[][] = [['FLAGS'], ['UID', 'FLAGS'], ['FLAGS', 'UID', 'RFC822.SIZE', 'INTERNALDATE'], ['MODSEQ', 'FLAGS', 'FLAGS'], ['INTERNALDATE'], ['RFC822.SIZE', 'UID', 'MODSEQ']];

describe('metadata-only FETCH as text', () => {
  it('equals the generic encoding for every item list, flag set, \\Recent, IMAP4rev2 and option', () => {
    let checked = 0;
    for (const rev2 of [false, true])
      for (const names of ITEM_LISTS)
        for (const flags of FLAG_SETS)
          for (const recent of [false, true])
            for (const uid of [false, true])
              for (const addModseq of [false, true]) {
                const s = session(rev2);
                const items = names.map(simple);
                const message: ViewMessage = { uid: 4242, flags, modseq: 77, internalDateMs: Date.UTC(2024, 1, 29, 23, 5, 9), sizeOctets: 1234, ref: 'r', recent };
                const options = { uid, addFlags: false, addModseq };
                expect(metadataOnly(items)).toBe(true);
                const generic = Buffer.concat(encodeUntagged([17, atom('FETCH'), fetchValues(s, message, items, undefined, options)], { utf8: false })).toString('utf8');
                expect(metadataFetchLine(s, 17, message, metadataNames(items, options))).toBe(generic);
                checked++;
              }
    expect(checked).toBe(2 * ITEM_LISTS.length * FLAG_SETS.length * 8);
  });

  it('is not used for items that read content', () => {
    expect(metadataOnly([simple('FLAGS'), simple('ENVELOPE')])).toBe(false);
    expect(metadataOnly([simple('BODYSTRUCTURE')])).toBe(false);
  });
});
