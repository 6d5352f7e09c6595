// The POST side of the calendar benchmark: a real local lab (`post lab up`, one organisation) with one
// user per client; each client talks CalDAV to its user's home node, as a calendar app talks to its
// user's node. Its CPU is the node processes' (each is its own process group).
import { labServerPids, startBenchLab } from './benchLab';
import type { CalendarTarget } from './calendar/workload';
import { groupsCpuMs } from './reference/processes';

export async function startPostCalendar(opts: { domain: string; nodes: number; users: number }): Promise<{ target: CalendarTarget; stop: () => Promise<void> }> {
  const benchLab = await startBenchLab('post-bench-calendar-', ['--nodes', String(opts.nodes), '--orgs', opts.domain, '--users', String(opts.users)]);
  try {
    const { lab } = benchLab;
    const homes = Array.from({ length: opts.users }, (_, i) => {
      const user = lab.users.find((u) => u.address === `user${i + 1}@${opts.domain}`);
      const node = lab.nodes.find((x) => x.id === user?.node);
      if (!user || !node?.caldav) throw new Error(`POST: the lab has no user${i + 1}@${opts.domain} with a CalDAV URL on its node`);
      return { homeUrl: `${node.caldav}calendars/${user.address}/`, user };
    });
    const pids = labServerPids(lab);
    return { target: { name: `POST (${opts.nodes} nodes)`, homes, serverCpuMs: () => groupsCpuMs(pids) }, stop: benchLab.stop };
  } catch (e) {
    await benchLab.stop();
    throw e;
  }
}
