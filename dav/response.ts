// What the DAV core answers, and the failures it answers with: an error is a status and a sentence (or
// a DAV:error precondition body), never an exception escaping to the HTTP layer as a 500.
import { type PropertyContext, type PropertyName, propertyValue } from './properties';
import type { DavResource } from './paths';
import { element, errorBody, escapeXml } from './xml';

export interface DavResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export class DavFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A precondition element (RFC 4918 16, RFC 4791 1.3) for a DAV:error body instead of plain text. */
    readonly condition?: readonly [ns: string, name: string],
  ) {
    super(message);
  }
}

export function failureResponse(f: DavFailure): DavResponse {
  if (f.condition) return { status: f.status, headers: { 'content-type': 'application/xml; charset=utf-8' }, body: errorBody(f.condition[0], f.condition[1]) };
  return { status: f.status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${f.message}\n` };
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 403: 'Forbidden', 404: 'Not Found', 424: 'Failed Dependency' };
export const statusLine = (status: number): string => `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();

/** One <d:response> with a propstat for the properties found and one for those missing. */
export function propResponse(href: string, r: DavResource, ctx: PropertyContext, names: readonly PropertyName[], onlyFound = false): string {
  const found: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    const value = propertyValue(name, r, ctx);
    if (value === undefined) missing.push(element(name[0], name[1]));
    else found.push(element(name[0], name[1], value));
  }
  let stats = '';
  if (found.length) stats += `<d:propstat><d:prop>${found.join('')}</d:prop><d:status>${statusLine(200)}</d:status></d:propstat>`;
  if (missing.length && !onlyFound) stats += `<d:propstat><d:prop>${missing.join('')}</d:prop><d:status>${statusLine(404)}</d:status></d:propstat>`;
  return `<d:response><d:href>${escapeXml(href)}</d:href>${stats}</d:response>`;
}

export const statusResponse = (href: string, status: number): string => `<d:response><d:href>${escapeXml(href)}</d:href><d:status>${statusLine(status)}</d:status></d:response>`;
