// The wall clock passes the Clock contract on real time (a unit test may not wait on it).
import { WallClock } from '../../../infra/clock';
import { clockCompliance } from '../../compliance/clock';

clockCompliance('wall clock', () => {
  const clock = new WallClock();
  // Real timers may run a little late: wait longer than asked, the assertions are about order only.
  return { clock, advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 25)) };
});
