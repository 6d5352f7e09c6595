import { overNats } from './bench/routing';
const p = await overNats(8, 1000, false, () => {});
const r = await overNats(8, 1000, true, () => {});
console.log(JSON.stringify({ plain: { raw: p.rawRequestMs.p50, route: p.routeMs.p50, hops: p.routeHops.mean }, tls: { raw: r.rawRequestMs.p50, route: r.routeMs.p50, hops: r.routeHops.mean } }));
process.exit(0);
