// The base subject of RFC 5256 2.1: what SORT SUBJECT compares and THREAD groups by, with the
// note whether the subject was a reply or forward ("Re:", "Fwd:", "[fwd: ...]", "(fwd)").

export interface BaseSubject {
  readonly base: string;
  readonly isReplyOrForward: boolean;
}

const trailer = /(?:\s|\(fwd\))+$/i;
const blob = /^\[[^[\]]*\]\s*/;
const refwd = /^(?:re|fwd?)\s*(?:\[[^[\]]*\]\s*)?:/i;

/** Removes the leading "Re:", "Fw:", "Fwd:" (each optionally with a [blob]) and blobs, step (3). */
function stripLeaders(subject: string): { text: string; removedRefwd: boolean } {
  let text = subject;
  let removedRefwd = false;
  for (;;) {
    const before = text;
    text = text.replace(/^\s+/, '');
    // subj-leader = (*subj-blob subj-refwd) / WSP
    let probe = text;
    while (blob.test(probe)) probe = probe.replace(blob, '');
    const match = refwd.exec(probe);
    if (match) {
      text = probe.slice(match[0].length);
      removedRefwd = true;
    }
    // Step (4): a leading blob goes too, unless it is all that is left.
    const blobMatch = blob.exec(text);
    if (blobMatch && text.length > blobMatch[0].length) text = text.slice(blobMatch[0].length);
    if (text === before) return { text, removedRefwd };
  }
}

/** `decoded` is the Subject header with encoded words already decoded. */
export function baseSubject(decoded: string): BaseSubject {
  // (1) Whitespace runs (folding included) become one space.
  let text = decoded.replace(/[\s]+/g, ' ');
  let isReplyOrForward = false;
  for (;;) {
    // (2) Trailing "(fwd)" and whitespace.
    const trimmed = text.replace(trailer, '');
    if (trimmed !== text) {
      if (/\(fwd\)/i.test(text.slice(trimmed.length))) isReplyOrForward = true;
      text = trimmed;
    }
    // (3), (4) repeated until nothing changes.
    const leaders = stripLeaders(text);
    text = leaders.text;
    if (leaders.removedRefwd) isReplyOrForward = true;
    // (5) "[fwd: ...]" around the whole subject.
    const wrapped = /^\[fwd:(.*)\]$/i.exec(text);
    if (!wrapped) break;
    text = wrapped[1]!;
    isReplyOrForward = true;
  }
  return { base: text.trim(), isReplyOrForward };
}
