// Readiness of a nats-server, from its monitoring endpoint: /healthz answers ok once it accepts
// clients, and /routez lists the routes to the other cluster members once they are connected.

/** Per monitoring request: the server is local, so a slow answer means it is not ready. */
const PROBE_TIMEOUT_MS = 1000;

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/** True once the server answers healthy and sees routes to at least `routesWanted` distinct members. */
export async function serverReady(httpUrl: string, routesWanted: number): Promise<boolean> {
  try {
    const health = (await getJson(`${httpUrl}/healthz`)) as { status?: string };
    if (health.status !== 'ok') return false;
    if (routesWanted === 0) return true;
    return (await routedServers(httpUrl)) >= routesWanted;
  } catch {
    return false;
  }
}

/** Distinct cluster members this server has a route to (a route may briefly be doubled). */
export async function routedServers(httpUrl: string): Promise<number> {
  const routez = (await getJson(`${httpUrl}/routez`)) as { routes?: { remote_id?: string }[] | null };
  return new Set((routez.routes ?? []).map((route) => route.remote_id)).size;
}

/** Leaf connections this server has (either direction). */
export async function leafConnections(httpUrl: string): Promise<number> {
  const leafz = (await getJson(`${httpUrl}/leafz`)) as { leafnodes?: number };
  return leafz.leafnodes ?? 0;
}
