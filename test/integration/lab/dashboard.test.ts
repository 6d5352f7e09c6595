// Issue 7, the lab's live dashboard in a real browser: `post lab up` starts the dashboard and records
// it in lab.json; headless Chromium (Debian's, driven by playwright-core; nothing is downloaded) opens
// it and sees every node ready with its actor tree, a scenario event as it is published, and a node
// killed with SIGKILL marked down. A screenshot is left in the test's folder and in
// test-artifacts/dashboard.png. Skipped, with the reason printed, when /usr/bin/chromium is missing
// (`node scripts/setup.mjs` installs it as root).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isAlive } from '../../../infra/nats/process';
import { NatsTransport } from '../../../infra/nats/transport';
import { operatorNatsOptions } from '../../../lab/nats';
import { DASHBOARD_DOWN_AFTER_INTERVALS, INSPECT_INTERVAL_MS, OVERLAY_TIMINGS } from '../../../protocol/limits';
import { subjects } from '../../../protocol/subjects';
import { post } from './cli';
import { stopLab } from '../../../lab/processes';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipping the dashboard browser test: ${CHROMIUM} is missing (install it with \`node scripts/setup.mjs\` as root, or apt-get install -y chromium)`);

const NODES = 4;
const ARTIFACT = fileURLToPath(new URL('../../../test-artifacts/dashboard.png', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'post-dashboard-'));
const labDir = join(dir, 'lab');
let labFile = '';
let context: BrowserContext | undefined;
let page: Page;
let nats: NatsTransport | undefined;

const lab = () => JSON.parse(readFileSync(labFile, 'utf8'));
const card = (id: string) => page.locator(`article.node[data-node-id="${id}"]`);

describe.skipIf(!hasChromium)('lab dashboard in headless Chromium', () => {
  beforeAll(async () => {
    const r = await post(['lab', 'up', '--nodes', String(NODES), '--dir', labDir], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    labFile = r.stdout.trim();
    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1500, height: 1000 },
      timeout: 30_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => console.error(`dashboard page error: ${e.message}`));
  }, 180_000);

  afterAll(async () => {
    // A failed run still leaves what the page showed.
    if (page && !existsSync(join(dir, 'dashboard.png'))) await page.screenshot({ path: ARTIFACT, fullPage: true }).catch(() => {});
    await context?.close().catch(() => {});
    await nats?.close().catch(() => {});
    if (labFile) {
      const started = lab();
      await post(['lab', 'down', '--dir', labDir], { timeoutMs: 60_000 });
      const dashboardLeft = started.dashboard ? isAlive(started.dashboard.pid) : false;
      await stopLab(started); // what the command left (a timeout on a loaded machine): never leak a lab
      expect(dashboardLeft, 'lab down stops the dashboard').toBe(false);
    }
    rmSync(dir, { recursive: true, force: true });
  }, 90_000);

  test('lab up records the dashboard in lab.json and it serves the page and the lab\'s state', async () => {
    const { dashboard, nodes } = lab();
    expect(dashboard).toEqual({ host: '127.0.0.1', port: expect.any(Number), pid: expect.any(Number) });
    expect(isAlive(dashboard.pid)).toBe(true);
    const state = (await (await fetch(`http://${dashboard.host}:${dashboard.port}/api/state`)).json()) as { nodes: { id: string }[] };
    expect(state.nodes.map((n) => n.id).sort()).toEqual(nodes.map((n: any) => n.id).sort());
  });

  test('the page shows the ring with every node ready, its leaf set, actor tree and replica health', async () => {
    const { dashboard, nodes, orgs } = lab();
    await page.goto(`http://${dashboard.host}:${dashboard.port}/`, { timeout: 15_000 });
    await page.locator(`#summary[data-ready="${NODES}"]`).waitFor({ timeout: 30_000 });
    await page.locator('#conn[data-conn="open"]').waitFor({ timeout: 5_000 });
    await expect.poll(() => page.locator('section.ring').getAttribute('data-org'), { timeout: 5_000 }).toBe(orgs[0].domain);
    for (const n of nodes) {
      const c = card(n.id);
      await c.and(page.locator(`[data-health="live"][data-state="ready"][data-leafset="${NODES - 1}"]`)).waitFor({ timeout: 20_000 });
      await expect.poll(() => c.locator('[data-actor="router"]').textContent(), { timeout: 5_000 }).toMatch(/router: ready/);
      expect(await c.locator('[data-actor="transport"]').textContent()).toMatch(/connected/);
      expect(await c.locator('[data-actor="replicaManager"]').textContent()).toMatch(/repair: \w+.*passes .*repair \d+/);
      expect(await c.locator('[data-role="drops"]').textContent()).toMatch(/^\d+$/);
    }
    // The organisation's MX node hosts its postmaster.
    const mx = nodes.find((n: any) => n.gatewayUser);
    await expect.poll(() => card(mx.id).textContent(), { timeout: 10_000 }).toContain(mx.gatewayUser);
  }, 90_000);

  test('a scenario event published on the scenario subject appears in the log as it happens', async () => {
    nats = await NatsTransport.connect({ ...operatorNatsOptions(lab()), name: 'dashboard-test' });
    const publish = (e: object) => nats!.publish(subjects.scenario(), Buffer.from(JSON.stringify(e)));
    publish({ scenario: 'dashboard-smoke', run: 'r1', phase: 'workload', op: 'send', node: 'n1', result: 'ok' });
    publish({ scenario: 'dashboard-smoke', run: 'r1', phase: 'done', verdict: 'pass', checks: { readable: true } });
    await nats.flush();
    await page.locator('#log li[data-scenario="dashboard-smoke"]').nth(1).waitFor({ timeout: 10_000 });
    expect(await page.locator('#log li').first().textContent()).toMatch(/dashboard-smoke done pass/);
    expect(await page.locator('#runs tr[data-run="dashboard-smoke#r1"]').textContent()).toMatch(/donepass2/);
  }, 30_000);

  test('a node killed with SIGKILL is marked down; its neighbours drop it from their leaf sets', async () => {
    const { nodes } = lab();
    const victim = nodes[NODES - 1];
    process.kill(victim.pid, 'SIGKILL');
    const started = Date.now();
    await card(victim.id).and(page.locator('[data-health="down"]')).waitFor({ timeout: DASHBOARD_DOWN_AFTER_INTERVALS * INSPECT_INTERVAL_MS + 10_000 });
    console.log(`dashboard: killed node ${victim.id.slice(0, 12)} shown down after ${Date.now() - started} ms`);
    await page.locator('#summary[data-down="1"]').waitFor({ timeout: 5_000 });
    for (const n of nodes.filter((m: any) => m.id !== victim.id))
      await card(n.id).and(page.locator(`[data-health="live"][data-leafset="${NODES - 2}"]`)).waitFor({ timeout: OVERLAY_TIMINGS.suspicionTimeoutMs + 15_000 });

    const shot = join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    mkdirSync(join(ARTIFACT, '..'), { recursive: true });
    copyFileSync(shot, ARTIFACT);
    console.log(`dashboard: screenshot at ${ARTIFACT}`);
    expect(existsSync(ARTIFACT)).toBe(true);
  }, 60_000);
});
