/**
 * The orchestrator dashboard in a real Chromium, on `npm start` (real services as processes,
 * SQLite, a 10-second scaling window), opened from the URL `npm start` prints: a crashed
 * replica is seen unhealthy and then replaced with a new id, 25 counted requests are seen to
 * scale acts to 2 replicas with the decision's reason, all without a reload, without console
 * errors or failed requests, and without horizontal scrolling on a phone-sized screen.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { OrchestratorStatus } from '../../orchestrator/admin';
import {
  eventually,
  freePortRange,
  npmStart,
  npmStartArgs,
  request,
  type CommandRun,
} from '../orchestrator/helpers';
import { describeWith, freePort } from '../support/requirements';
import { launchChromium } from './support/chromium';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const WINDOW_SECONDS = 10;
const STOP_TIMEOUT_MS = 20_000;

describeWith('browser', 'the orchestrator dashboard in a browser, on npm start', () => {
  jest.setTimeout(120_000);
  let run: CommandRun | undefined;
  let dataDir: string;
  let browser: Browser | undefined;
  let page: Page;
  let frontDoor: number;
  let actsFirstPort: number;
  let dashboardUrl: string;
  const problems: string[] = [];

  const actsRows = () => page.locator('section[data-pool="acts"] tbody tr');

  beforeAll(async () => {
    frontDoor = await freePort();
    actsFirstPort = await freePortRange(10);
    const usersFirstPort = await freePortRange(10);
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'dashboard-browser-'));
    run = npmStart(
      npmStartArgs({ port: frontDoor, actsFirstPort, usersFirstPort, dataDir }, [
        '--window-seconds',
        String(WINDOW_SECONDS),
      ]),
    );
    const printed = await eventually(() => {
      if (run!.child.exitCode !== null) throw new Error(run!.output());
      return /Dashboard: (http:\/\/\S+)/.exec(run!.output())?.[1] ?? undefined;
    }, 100);
    dashboardUrl = printed;

    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (req) =>
      problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`),
    );
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`${res.status()} for ${res.url()}`);
    });
    await page.goto(dashboardUrl);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    if (run && run.child.exitCode === null) {
      // As Ctrl-C does: npm start stops every replica it started, then says so.
      process.kill(-run.child.pid!, 'SIGINT');
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (!/stopped\.|stopping failed/.test(run.output()) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await run.exited;
    }
    // A replica's last log line may land a moment after its process group is gone.
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }, 60_000);

  test('1. the dashboard opens from the printed URL with one acts replica in rotation', async () => {
    expect(run!.output()).toMatch(
      /Ready: open http:\/\/localhost:\d+\nDashboard: http:\/\/127\.0\.0\.1:\d+\//,
    );
    await page.locator('.connection.live').waitFor();
    await eventually(
      async () => (await actsRows().count()) === 1 && undefined !== (await inRotation(page, 0)),
    );
    await expectEventually(() => inRotation(page, 0), 'yes');
    await expectEventually(() => actsRows().first().getAttribute('data-state'), 'running');
    await expectEventually(() => actsRows().count(), 1);
    // Marks this document: if the page reloaded, the mark would be gone.
    await page.evaluate(() => document.documentElement.setAttribute('data-test-mark', 'same page'));
  });

  test('2. a crashed replica shows unhealthy, then replaced with a new id, without a reload', async () => {
    const oldId = await actsRows().first().locator('.replica-id').getAttribute('title');
    expect(oldId).toMatch(/^pid:\d+$/);
    expect((await request(actsFirstPort, 'POST', '/api/v1/_crash')).status).toBe(200);

    const unhealthy = page.locator('#events li[data-kind="unhealthy"]', {
      hasText: `acts :${actsFirstPort}`,
    });
    await unhealthy.first().waitFor();
    expect(await unhealthy.first().textContent()).toContain('health probe answered 500');
    const replaced = page.locator('#events li[data-kind="replaced"]', { hasText: `acts :${actsFirstPort}` });
    await replaced.first().waitFor();
    const newId = await eventually(async () => {
      const id = await actsRows().first().locator('.replica-id').getAttribute('title');
      return id && id !== oldId ? id : undefined;
    });
    expect(await replaced.first().textContent()).toContain(newId);
    await expectEventually(() => inRotation(page, 0), 'yes');
    expect(await page.evaluate(() => document.documentElement.getAttribute('data-test-mark'))).toBe(
      'same page',
    );
  });

  test('3. 25 counted requests: at the window end the page shows 2 replicas and the reason', async () => {
    await page
      .locator('section[data-pool="acts"] .facts', { hasText: 'opens at the first counted request' })
      .waitFor();
    const answers = await Promise.all(
      Array.from({ length: 25 }, () =>
        fetch(`http://127.0.0.1:${frontDoor}/api/v1/categories`).then((r) => r.status),
      ),
    );
    // 204 while there are no categories yet: answered by the acts service either way.
    expect(answers.filter((status) => status === 200 || status === 204)).toHaveLength(25);
    const facts = page.locator('section[data-pool="acts"] .facts');
    await facts.getByText('Counted this window').waitFor();
    await page
      .locator('section[data-pool="acts"] .facts dd', {
        hasText: '25 counted requests: floor(25/20)+1 within 1..10 = 2 replicas',
      })
      .waitFor({ timeout: (WINDOW_SECONDS + 10) * 1000 });
    await expectEventually(() => actsRows().count(), 2);
    await page.locator('#events li[data-kind="scaled"]', { hasText: '1 → 2 replicas' }).waitFor();
    // The chart of replicas per pool has drawn the step to 2.
    await page.locator('#charts figure', { hasText: 'acts 2' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.getAttribute('data-test-mark'))).toBe(
      'same page',
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-desktop.png'), fullPage: true });
  });

  test('4. no console errors, no failed requests, no horizontal scroll at 390 px', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.client);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-390px.png'), fullPage: true });
    // The admin address never saw a secret; the page is on the status it shows.
    const status = (await (await fetch(new URL('/status', dashboardUrl))).json()) as OrchestratorStatus;
    expect(status.pools.map((p) => p.name)).toEqual(['users', 'acts']);
    expect(problems).toEqual([]);
  });
});

async function inRotation(page: Page, row: number): Promise<string | null> {
  return page
    .locator('section[data-pool="acts"] tbody tr')
    .nth(row)
    .locator('td[data-label="In rotation"]')
    .textContent();
}

async function expectEventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  await eventually(async () => (await read()) === expected || undefined, 100);
}
