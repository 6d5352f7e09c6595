// Live pushes a node sends on inbox subjects, held for the event-loop turn (issue 11): those for one
// inbox leave as one frame (notify.inbox.pushes, at most NOTIFY_PUSH_ENTRIES_MAX; one alone as
// notify.inbox.push) once the turn's I/O has run. SMTP sessions notifying one recipient resume in
// the same turn when their drop puts are answered in one batch. A push is only a hint: the recipient
// verifies what it delivers and pulls its drop anyway, so a push lost costs a delay, never a message.
import type { Clock } from '../../infra/ports';
import { NOTIFY_PUSH_ENTRIES_MAX } from '../../protocol/limits';
import { type Envelope, InboxPush, InboxPushes } from '../../protocol/notify';

interface Pushed {
  readonly entryId: string;
  readonly envelope: Envelope;
}

export class PushOutbox {
  /** Pushes held in this turn by subject (a flush is due while it is not empty). */
  private held = new Map<string, { dropId: string; entries: Pushed[] }>();

  constructor(
    private readonly clock: Clock,
    private readonly publish: (subject: string, frame: Uint8Array) => void,
  ) {}

  /** Push `entry` of drop `dropId` on `subject` (its recipient's inbox subject) with the others of this turn. */
  push(subject: string, dropId: string, entry: Pushed): void {
    if (this.held.size === 0) this.clock.defer(() => this.flush());
    const held = this.held.get(subject);
    if (held) held.entries.push(entry);
    else this.held.set(subject, { dropId, entries: [entry] });
  }

  private flush(): void {
    const held = this.held;
    this.held = new Map();
    for (const [subject, { dropId, entries }] of held)
      for (let i = 0; i < entries.length; i += NOTIFY_PUSH_ENTRIES_MAX) {
        const part = entries.slice(i, i + NOTIFY_PUSH_ENTRIES_MAX);
        this.publish(subject, part.length === 1 ? InboxPush.encode({ dropId, ...part[0]! }) : InboxPushes.encode({ dropId, entries: part }));
      }
  }
}
