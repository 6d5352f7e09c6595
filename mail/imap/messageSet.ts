// A sequence set of a command, resolved against the session's view: by sequence number or by UID.
import { failBad } from './command';
import type { SelectedMailbox, ViewMessage } from './selectedMailbox';
import { resolveSequenceNumbers, resolveUidIndexes, savedResultSet, SequenceSetError, type SequenceSet } from './sequenceSet';

export interface SelectedMessage {
  readonly seq: number;
  readonly message: ViewMessage;
}

export function selectMessages(view: SelectedMailbox, set: SequenceSet, byUid: boolean): SelectedMessage[] {
  if (set === savedResultSet) {
    // Messages expunged since the SEARCH simply drop out (RFC 5182 2.1).
    const indexes = [...view.savedUids].map((uid) => view.indexOfUid(uid)).filter((index) => index >= 0);
    return indexes.sort((a, b) => a - b).map((index) => ({ seq: index + 1, message: view.messages[index]! }));
  }
  if (byUid) {
    return resolveUidIndexes(set, view.messages.map((m) => m.uid)).map((index) => ({ seq: index + 1, message: view.messages[index]! }));
  }
  try {
    return resolveSequenceNumbers(set, view.exists).map((seq) => ({ seq, message: view.messages[seq - 1]! }));
  } catch (error) {
    if (error instanceof SequenceSetError) failBad(error.message);
    throw error;
  }
}
