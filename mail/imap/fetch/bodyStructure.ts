// BODY and BODYSTRUCTURE (RFC 3501 7.4.2) from the parsed MIME tree. BODY omits extension data.
import type { ParameterizedValue } from '../../mime/contentType';
import type { MimeEntity } from '../../mime/structure';
import type { ImapValue } from '../encoder';
import { envelopeValue } from './envelope';

function paramsValue(params: ParameterizedValue['params']): ImapValue {
  if (params.length === 0) return null;
  return params.flatMap(([name, value]) => [name, value]);
}

function dispositionValue(entity: MimeEntity): ImapValue {
  if (!entity.disposition || entity.disposition.value.length === 0) return null;
  return [entity.disposition.value, paramsValue(entity.disposition.params)];
}

function languageValue(entity: MimeEntity): ImapValue {
  if (!entity.language || entity.language.length === 0) return null;
  return entity.language.length === 1 ? entity.language[0]! : [...entity.language];
}

export function bodyStructureValue(entity: MimeEntity, extended: boolean): ImapValue {
  if (entity.children) {
    const value: ImapValue[] = entity.children.map((child) => bodyStructureValue(child, extended));
    value.push(entity.subtype);
    if (extended) value.push(paramsValue(entity.params), dispositionValue(entity), languageValue(entity), entity.location ?? null);
    return value;
  }
  const value: ImapValue[] = [
    entity.type,
    entity.subtype,
    paramsValue(entity.params),
    entity.id ?? null,
    entity.description ?? null,
    entity.encoding,
    entity.bodyEnd - entity.bodyStart,
  ];
  if (entity.message) {
    value.push(envelopeValue(entity.message.fields ?? []), bodyStructureValue(entity.message, extended), entity.lines);
  } else if (entity.type === 'message' && (entity.subtype === 'rfc822' || entity.subtype === 'global')) {
    // An encapsulated message we could not parse (e.g. wrongly base64-encoded): the grammar still
    // requires an envelope and a body, so it gets empty ones.
    value.push(envelopeValue([]), ['text', 'plain', null, null, null, '7BIT', 0, 0], entity.lines);
  } else if (entity.type === 'text') {
    value.push(entity.lines);
  }
  if (extended) value.push(entity.md5 ?? null, dispositionValue(entity), languageValue(entity), entity.location ?? null);
  return value;
}
