// Standby hosts of a user (issue 13): the nodes after the user's home node in the ring, clockwise by
// id. They take over the user's delivery when the home has been gone too long (actors/users/standbyHost.ts).
import { cwDistance, type NodeId } from './id';

/** The `count` members that follow `home` clockwise on the circle (fewer when the ring is smaller). */
export function standbyHostsFor(home: NodeId, members: Iterable<NodeId>, count: number): NodeId[] {
  const others = [...new Set(members)].filter((m) => m !== home);
  others.sort((a, b) => {
    const da = cwDistance(home, a);
    const db = cwDistance(home, b);
    return da < db ? -1 : da > db ? 1 : 0;
  });
  return others.slice(0, count);
}
