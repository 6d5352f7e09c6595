import { overNats } from './bench/routing';
const r = await overNats(8, 1000, true, () => {});
const p = await overNats(8, 1000, false, () => {});
console.log(JSON.stringify({ tls: { raw: r.rawRequestMs.p50, route: r.routeMs.p50, p99: r.routeMs.p99, hops: r.routeHops.mean }, plain: { raw: p.rawRequestMs.p50, route: p.routeMs.p50, p99: p.routeMs.p99, hops: p.routeHops.mean } }));
process.exit(0);
