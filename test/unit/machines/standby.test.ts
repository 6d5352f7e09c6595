// The standby machine on a simulated clock (issue 13): a standby takes over only once the home has
// stayed gone for the takeover delay, hands back only once it has stayed back for the handback delay,
// and a home that flaps within those delays moves nothing. The ring order of standby hosts.
import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { SimClock } from '../../../infra/sim/clock';
import { standbyMachine } from '../../../machines/standby.machine';
import { standbyHostsFor } from '../../../overlay/standby';

function standby() {
  const clock = new SimClock();
  const effects: string[] = [];
  const machine = standbyMachine.provide({ actions: { takeOver: () => void effects.push('takeOver'), handBack: () => void effects.push('handBack') } });
  const actor = createActor(machine, { clock, input: { takeoverMs: 3_000, handbackMs: 3_000 } });
  actor.start();
  const state = () => JSON.stringify(actor.getSnapshot().value);
  return { clock, actor, effects, state };
}

describe('standby machine', async () => {
  test('takes over after the home stayed gone for the takeover delay, hands back after it stayed back for the handback delay', async () => {
    const { clock, actor, effects, state } = standby();
    actor.send({ type: 'HOME_GONE' });
    await clock.runFor(2_999);
    expect(state()).toBe('"suspecting"');
    expect(effects).toEqual([]);
    await clock.runFor(1);
    expect(state()).toBe('{"delivering":"active"}');
    expect(effects).toEqual(['takeOver']);
    actor.send({ type: 'HOME_BACK' });
    await clock.runFor(2_999);
    expect(effects).toEqual(['takeOver']);
    await clock.runFor(1);
    expect(state()).toBe('"watching"');
    expect(effects).toEqual(['takeOver', 'handBack']);
    expect(actor.getSnapshot().context.takeovers).toBe(1);
  });

  test('a home that returns within the delays moves nothing', async () => {
    const { clock, actor, effects, state } = standby();
    actor.send({ type: 'HOME_GONE' });
    await clock.runFor(2_000);
    actor.send({ type: 'HOME_BACK' });
    await clock.runFor(10_000);
    expect(state()).toBe('"watching"');
    expect(effects).toEqual([]);
    actor.send({ type: 'HOME_GONE' });
    await clock.runFor(3_000);
    actor.send({ type: 'HOME_BACK' });
    await clock.runFor(1_000);
    actor.send({ type: 'HOME_GONE' });
    await clock.runFor(10_000);
    expect(state()).toBe('{"delivering":"active"}');
    expect(effects).toEqual(['takeOver']);
  });
});

describe('standby hosts', async () => {
  const id = (n: number) => n.toString(16).padStart(64, '0');
  test('are the nodes after the home clockwise, wrapping around the circle', () => {
    const ring = [id(0x10), id(0x20), id(0x30), id(0xf0)];
    expect(standbyHostsFor(id(0x20), ring, 2)).toEqual([id(0x30), id(0xf0)]);
    expect(standbyHostsFor(id(0x30), ring, 2)).toEqual([id(0xf0), id(0x10)]);
    expect(standbyHostsFor(id(0x30), [id(0x30), id(0x10)], 2)).toEqual([id(0x10)]);
  });
});
