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

/** The server's own id (/varz), as other members' /routez name it. */
export async function serverId(httpUrl: string): Promise<string> {
  const varz = (await getJson(`${httpUrl}/varz`)) as { server_id?: string };
  if (!varz.server_id) throw new Error(`${httpUrl}/varz names no server_id`);
  return varz.server_id;
}

/** Ids of the cluster members this server has a route to now. */
export async function routedServerIds(httpUrl: string): Promise<Set<string>> {
  const routez = (await getJson(`${httpUrl}/routez`)) as { routes?: { remote_id?: string }[] | null };
  return new Set((routez.routes ?? []).map((route) => route.remote_id ?? ''));
}

/** Connection names (a node names its connection by its id) of the clients connected to this server now. */
export async function clientNames(httpUrl: string, limit: number): Promise<string[]> {
  const connz = (await getJson(`${httpUrl}/connz?limit=${limit}`)) as { connections?: { name?: string }[] | null };
  return (connz.connections ?? []).map((c) => c.name ?? '');
}
