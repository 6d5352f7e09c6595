// ENVELOPE (RFC 3501 7.4.2): header fields as the message carries them, addresses split into
// (name adl mailbox host), groups as start/end markers. Sender and Reply-To default to From.
import { parseAddressList, type MailboxAddress } from '../../mime/addresses';
import { headerValue, type HeaderField } from '../../mime/headers';
import type { ImapValue } from '../encoder';

function mailboxValue(address: MailboxAddress): ImapValue {
  return [address.name ?? null, address.route ?? null, address.local, address.domain ?? ''];
}

function addressListValue(value: string | undefined): ImapValue {
  if (value === undefined || value.trim().length === 0) return null;
  const items: ImapValue[] = [];
  for (const address of parseAddressList(value)) {
    if (address.kind === 'mailbox') items.push(mailboxValue(address));
    else {
      items.push([null, null, address.name, null]);
      for (const member of address.members) items.push(mailboxValue(member));
      items.push([null, null, null, null]);
    }
  }
  return items.length > 0 ? items : null;
}

function nstring(value: string | undefined): ImapValue {
  return value === undefined ? null : value;
}

export function envelopeValue(fields: readonly HeaderField[]): ImapValue {
  const get = (name: string): string | undefined => headerValue(fields, name);
  const from = addressListValue(get('from'));
  const sender = addressListValue(get('sender'));
  const replyTo = addressListValue(get('reply-to'));
  return [
    nstring(get('date')),
    nstring(get('subject')),
    from,
    sender ?? from,
    replyTo ?? from,
    addressListValue(get('to')),
    addressListValue(get('cc')),
    addressListValue(get('bcc')),
    nstring(get('in-reply-to')),
    nstring(get('message-id')),
  ];
}
