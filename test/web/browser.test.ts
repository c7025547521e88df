/**
 * The web UI in a real Chromium against the real system (front door, both services, SQLite):
 * signing up and in, categories, uploading a real PNG, upvoting, deleting, paging, and the
 * sentences shown for failures.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describeWith } from '../support/requirements';
import { launchChromium } from './support/chromium';
import { gradientPng } from './support/png';
import { startSystem, type RunningSystem } from './support/system';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const suffix = Math.random().toString(36).slice(2, 8);
const USER = `ada-${suffix}`;
const PASSWORD = 'correct horse battery staple';

describeWith('browser', 'web UI in a browser', () => {
  jest.setTimeout(90_000);
  let system: RunningSystem | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageProblems: string[] = [];

  const api = async (
    method: string,
    route: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(system!.baseUrl + route, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };

  const cards = () => page.locator('article.act');
  const acceptNextDialog = () => page.once('dialog', (dialog) => void dialog.accept());

  beforeAll(async () => {
    system = await startSystem();
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, locale: 'en-GB' });
    page = await context.newPage();
    // Refused API calls log "Failed to load resource"; anything else (a thrown error, a
    // blocked script or style under the page's Content-Security-Policy) is a fault.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageProblems.push(message.text());
      }
    });
    page.on('pageerror', (error) => pageProblems.push(error.message));
    await page.goto(system.baseUrl);
  }, 120_000);

  afterEach(() => {
    const problems = pageProblems.splice(0);
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await system?.stop();
  }, 60_000);

  test('the page is served fresh and its hashed assets as immutable', async () => {
    const index = await fetch(`${system!.baseUrl}/`);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="((?:app|styles)-[A-Z0-9]+\.(?:js|css))"/g)].map(
      (m) => m[1],
    );
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const response = await fetch(`${system!.baseUrl}/${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toMatch(/immutable/);
      await response.arrayBuffer();
    }
  });

  test('signing up, out and in, with the refusals said in words', async () => {
    await page.getByLabel('Username').fill(USER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectText(page.locator('.account-bar'), `Signed in as ${USER}`);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').fill(USER);
    await page.getByLabel('Password').fill('something else');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expectText(page.getByRole('alert').filter({ hasText: 'taken' }), 'That username is taken');

    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(
      page.getByRole('alert').filter({ hasText: 'wrong' }),
      'The username or password is wrong.',
    );

    // Keyboard only: Enter in the password field signs in (the form's first button).
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Password').press('Enter');
    await expectText(page.locator('.account-bar'), `Signed in as ${USER}`);

    // The page sent a SHA-1 digest, which the users service accepts as the password.
    const digest = createHash('sha1').update(PASSWORD).digest('hex');
    expect((await api('POST', `/api/v1/users/${USER}/session`, { password: digest })).status).toBe(200);

    await page.reload();
    await expectText(page.locator('.account-bar'), `Signed in as ${USER}`);
  });

  test('creating a category, sharing real PNGs, upvoting, then deleting it all', async () => {
    const category = `kindness-${suffix}`;
    await page.getByLabel('New category').fill(category);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: new RegExp(`^${category}\\s+0 acts$`) }).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'home-page.png'), fullPage: true });
    await page.getByRole('link', { name: new RegExp(`^${category}\\s+0 acts$`) }).click();
    await expectText(page.getByRole('heading', { level: 1 }), category);

    await page.getByLabel('Caption').fill('Helped a neighbour carry groceries');
    await page.setInputFiles('#upload-photo', {
      name: 'first.png',
      mimeType: 'image/png',
      buffer: gradientPng(320, 240, 0),
    });
    await page.locator('.preview-image').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'upload-form.png'), fullPage: true });
    await page.getByRole('button', { name: 'Share act' }).click();
    await expectText(page.getByRole('status'), 'Your act was shared.');
    await expect1stCaption(page, 'Helped a neighbour carry groceries');

    await page.locator('details.share summary').click();
    await page.setInputFiles('#upload-photo', {
      name: 'beach.png',
      mimeType: 'image/png',
      buffer: gradientPng(320, 240, 60),
    });
    await expectText(page.locator('.preview-info'), 'beach.png · ');
    await page.getByLabel('Caption').fill('Cleaned up the beach');
    await page.getByRole('button', { name: 'Share act' }).click();
    await expectText(page.locator('.category-total'), '2 acts');
    await expect1stCaption(page, 'Cleaned up the beach');

    const newest = cards().first();
    expect(await newest.locator('img').getAttribute('src')).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    expect(await newest.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320);
    await expectText(newest.locator('.act-author'), USER);
    await expectText(newest.locator('time'), 'just now');

    // Upvote: the count moves while the request is still held back, and the server keeps it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let requests = 0;
    await page.route('**/api/v1/acts/upvote', async (route) => {
      requests++;
      await held;
      await route.continue();
    });
    await newest.getByRole('button', { name: /^Upvote, 0 upvotes$/ }).click();
    await expectText(newest.locator('.upvote-count'), '1');
    expect(await newest.getByRole('button', { name: 'Upvote, 1 upvote' }).count()).toBe(1);
    expect(requests).toBe(1);
    const answered = page.waitForResponse('**/api/v1/acts/upvote');
    release();
    expect((await answered).status()).toBe(200);
    await page.unroute('**/api/v1/acts/upvote');
    await page.reload();
    await expectText(cards().first().locator('.upvote-count'), '1');

    await page.screenshot({ path: path.join(ARTIFACTS, 'category-page.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'category-page-phone.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1200, height: 900 });

    // An upvote the server refuses is rolled back and explained.
    const older = cards().nth(1);
    const olderId = Number(await older.getAttribute('data-act-id'));
    expect((await api('DELETE', `/api/v1/acts/${olderId}`)).status).toBe(200);
    await older.getByRole('button', { name: /^Upvote/ }).click();
    await expectText(page.getByRole('alert'), 'That act no longer exists.');
    await expectText(older.locator('.upvote-count'), '0');

    acceptNextDialog();
    await cards().first().getByRole('button', { name: 'Delete act “Cleaned up the beach”' }).click();
    await expectText(page.getByRole('status'), 'The act was deleted.');
    await expectText(page.locator('.category-total'), '0 acts');
    expect(await cards().count()).toBe(0);

    await page.getByRole('link', { name: '← All categories' }).click();
    acceptNextDialog();
    await page.getByRole('button', { name: `Delete category ${category}` }).click();
    await expectText(page.getByRole('status'), `The category “${category}” was deleted.`);
    expect(await page.getByRole('link', { name: new RegExp(category) }).count()).toBe(0);
  });

  test('a category of 25 acts is shown 20 at a time, newest first', async () => {
    const category = `paged-${suffix}`;
    expect((await api('POST', '/api/v1/categories', [category])).status).toBe(201);
    const imgB64 = gradientPng(8, 8).toString('base64');
    for (let i = 1; i <= 25; i++) {
      const act = {
        actId: 9_000_000 + i,
        username: USER,
        timestamp: `01-02-2024:00-${String(i).padStart(2, '0')}-10`,
        caption: `act ${i}`,
        categoryName: category,
        imgB64,
      };
      expect((await api('POST', '/api/v1/acts', act)).status).toBe(201);
    }
    await page.goto(`${system!.baseUrl}/#/c/${category}`);
    await expectText(page.getByRole('navigation', { name: 'Pages' }), 'Page 1 of 2');
    expect(await cards().count()).toBe(20);
    await expect1stCaption(page, 'act 25');
    await page.getByRole('link', { name: 'Older →' }).click();
    await expectText(page.getByRole('navigation', { name: 'Pages' }), 'Page 2 of 2');
    expect(await cards().locator('.act-caption').allTextContents()).toEqual([
      'act 5',
      'act 4',
      'act 3',
      'act 2',
      'act 1',
    ]);
    await expectText(cards().first().locator('time'), '1 Feb 2024, 10:05');
    expect((await api('DELETE', `/api/v1/categories/${category}`)).status).toBe(200);
  });

  test('two acts shared in two categories: on the home feed in order, on their author’s page, and gone from both once deleted', async () => {
    const [first, second] = [`feed-a-${suffix}`, `feed-b-${suffix}`];
    for (const name of [first, second])
      expect((await api('POST', '/api/v1/categories', [name])).status).toBe(201);
    for (const [category, caption, shade] of [
      [first, 'Walked the shelter dogs', 10],
      [second, 'Fixed a stranger’s bike', 90],
    ] as const) {
      await page.goto(`${system!.baseUrl}/#/c/${category}`);
      await expectText(page.getByRole('heading', { level: 1 }), category);
      await page.getByLabel('Caption').fill(caption);
      await page.setInputFiles('#upload-photo', {
        name: 'act.png',
        mimeType: 'image/png',
        buffer: gradientPng(64, 48, shade),
      });
      await page.locator('.preview-image').waitFor();
      await page.getByRole('button', { name: 'Share act' }).click();
      await expectText(page.getByRole('status'), 'Your act was shared.');
    }

    const feed = page.getByRole('list', { name: 'Recent acts, newest first' });
    const feedCaptions = () => feed.locator('.act-caption').allTextContents();
    await page.goto(`${system!.baseUrl}/#/`);
    await feed.waitFor();
    expect((await feedCaptions()).slice(0, 2)).toEqual([
      'Fixed a stranger’s bike',
      'Walked the shelter dogs',
    ]);
    await expectText(feed.locator('article.act').first().locator('.act-category'), second);

    // The author's name leads to their page, which survives a reload.
    await feed.locator('article.act').first().getByRole('link', { name: USER }).click();
    await expectText(page.getByRole('heading', { level: 1 }), 'My acts');
    expect(new URL(page.url()).hash).toBe(`#/u/${USER}`);
    await page.reload();
    const mine = page.getByRole('list', { name: `Acts by ${USER}, newest first` });
    // The page loads the acts after the reload's load event: wait for their list.
    await mine.waitFor();
    expect(await mine.locator('.act-caption').allTextContents()).toEqual([
      'Fixed a stranger’s bike',
      'Walked the shelter dogs',
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'user-page.png'), fullPage: true });

    acceptNextDialog();
    await mine.getByRole('button', { name: 'Delete act “Fixed a stranger’s bike”' }).click();
    await expectText(page.getByRole('status'), 'The act was deleted.');
    expect(await mine.locator('.act-caption').allTextContents()).toEqual(['Walked the shelter dogs']);
    await page.goto(`${system!.baseUrl}/#/`);
    await feed.waitFor();
    expect(await feedCaptions()).not.toContain('Fixed a stranger’s bike');
    expect((await feedCaptions())[0]).toBe('Walked the shelter dogs');

    // "My acts" in the header, by keyboard: focus lands on the page's heading.
    await page.getByRole('link', { name: 'My acts' }).focus();
    await page.keyboard.press('Enter');
    await expectText(page.getByRole('heading', { level: 1 }), 'My acts');
    await page.waitForFunction(() => document.activeElement?.id === 'user-heading');
    // And from the feed: Enter on an author's name opens their page.
    await page.goto(`${system!.baseUrl}/#/`);
    await feed.locator('.act-author').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'user-heading');

    for (const hash of ['#/', `#/u/${USER}`]) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${system!.baseUrl}/${hash}`);
      await page.locator('article.act').first().waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'user-page-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 900 });
    for (const name of [first, second])
      expect((await api('DELETE', `/api/v1/categories/${name}`)).status).toBe(200);
  });

  test('a file that is not an image, or too large to send, is refused before upload', async () => {
    const category = `limits-${suffix}`;
    expect((await api('POST', '/api/v1/categories', [category])).status).toBe(201);
    await page.goto(`${system!.baseUrl}/#/c/${category}`);
    await expectText(page.getByRole('heading', { level: 1 }), category);
    await page.setInputFiles('#upload-photo', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not a photo'),
    });
    await expectText(
      page.locator('.upload-form [role=alert]'),
      'This file is not a PNG, JPEG, GIF or WebP image.',
    );
    await page.setInputFiles('#upload-photo', {
      name: 'huge.png',
      mimeType: 'image/png',
      buffer: Buffer.alloc(16 * 1024 * 1024, 1),
    });
    await expectText(
      page.locator('.upload-form [role=alert]'),
      'The photo is 16.0 MB, larger than the 15.0 MB that can be shared.',
    );
    await page.getByRole('button', { name: 'Share act' }).click();
    await expectText(page.locator('.upload-form [role=alert]'), 'Please choose a photo first.');
    expect(await api('GET', `/api/v1/categories/${category}/acts/size`)).toEqual({ status: 200, json: [0] });
    expect((await api('DELETE', `/api/v1/categories/${category}`)).status).toBe(200);
  });
});

/** Waits until the element's text contains `text`, then checks it (the page updates asynchronously). */
async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await locator
    .filter({ hasText: text })
    .first()
    .waitFor({ timeout: 15_000 })
    .catch(() => undefined);
  expect(await locator.first().innerText()).toContain(text);
}

async function expect1stCaption(page: Page, caption: string): Promise<void> {
  await expectText(page.locator('article.act .act-caption').first(), caption);
}
