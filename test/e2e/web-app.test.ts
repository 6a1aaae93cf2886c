import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitUntil } from '../../kernel/wait.js';
import { startCluster, type Cluster } from '../harness/cluster.js';
import { launchChromium, screenshotsDir } from '../harness/browser.js';
import { startSmtpCapture, type SmtpCapture } from '../harness/smtp-capture.js';
import { createTestUser } from '../harness/users.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The browser globals the page functions below use (this project type-checks without the DOM library). */
interface PageGlobals {
  localStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  sessionStorage: { getItem(key: string): string | null };
  axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
  document: { documentElement: { scrollWidth: number } };
  innerWidth: number;
}

/**
 * The web app (web/, built into web/dist by `npm run build:web`) in a real headless Chromium,
 * driven by playwright-core, against two API processes and a worker on real services, with the
 * verification mail read from a real SMTP server.
 */
describe('web app in a real browser (Chromium, playwright-core)', function () {
  this.timeout(240_000);
  let cluster: Cluster;
  let smtp: SmtpCapture;
  let browser: Browser;
  let userContext: BrowserContext;
  let tab1: Page;
  let tab2: Page;
  /** The entry written in the second test (analysed by the worker). */
  let firstEntry: string;
  const password = 'quiet-river-lantern-42';
  const email = `web-${Date.now()}@example.test`;
  const app = (i: number, page = '/') => `${cluster.apis[i]!.url}/app${page}`;

  before(async function () {
    this.timeout(240_000);
    smtp = await startSmtpCapture();
    cluster = await startCluster({
      apis: 2,
      workers: 1,
      // 30 s access tokens (the least allowed): the pages refresh silently several times during the run.
      env: { APP__AUTH__JWT__ACCESS_TTL_SEC: '30', APP__MAIL__TRANSPORT: 'smtp', APP__MAIL__SMTP__HOST: '127.0.0.1', APP__MAIL__SMTP__PORT: String(smtp.port), APP__MAIL__SMTP__SECURE: 'false' },
    });
    browser = await launchChromium();
    userContext = await browser.newContext({ locale: 'en-GB', viewport: { width: 1100, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await cluster?.stop();
    await smtp?.stop();
  });

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshotsDir(), `${name}.png`), fullPage: true });
  const statusOf = (page: Page, diaryId: string) => page.locator(`[data-diary-id="${diaryId}"] [data-status]`).getAttribute('data-status');

  it('when someone signs up, verifies the emailed code and logs in, then the diary opens (first render measured)', async () => {
    tab1 = await userContext.newPage();
    await tab1.goto(app(0, '/signup'));
    // From the start of the navigation to the first frame the app rendered (web/src/main.tsx marks it).
    const firstRender = await tab1.waitForFunction(() => performance.getEntriesByName('app:first-render')[0]?.startTime).then((h) => h.jsonValue() as Promise<number>);
    console.log(`      time to first render of /app/signup: ${Math.round(firstRender)} ms`);
    expect(firstRender).to.be.within(1, 10_000);
    await tab1.fill('#email', email);
    await tab1.fill('#username', `web_${Date.now() % 1e8}`);
    await tab1.fill('#nickname', 'Web Person');
    await tab1.fill('#new-password', password);
    await shot(tab1, 'signup');
    await tab1.click('button[type=submit]');
    await tab1.waitForURL(/\/app\/verify/);
    await tab1.fill('#code', await smtp.takeCode(email, undefined, 15_000));
    await tab1.click('button[type=submit]');
    await tab1.waitForURL(/\/app\/login/);
    await tab1.fill('#password', password);
    await tab1.click('button[type=submit]');
    await tab1.locator('h1', { hasText: 'My diary' }).waitFor();
    await tab1.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
  });

  it('when an entry is written in one tab, then its status changes live in a second tab that never reloads', async () => {
    // A second tab of the same browser (same origin: it shares the session through localStorage).
    tab2 = await userContext.newPage();
    await tab2.goto(app(0));
    await tab2.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    let navigations = 0;
    tab2.on('framenavigated', (frame) => void (frame === tab2.mainFrame() && navigations++));

    await tab1.click('text=New entry');
    await tab1.fill('#content', 'I failed the exam and I will never be good at anything. Everyone must think I am stupid.');
    await tab1.click('button[type=submit]');
    await tab1.waitForURL(/\/app\/diary\/\d+$/);
    const diaryId = /\/diary\/(\d+)$/.exec(tab1.url())![1]!;
    firstEntry = diaryId;

    await waitUntil('the second tab shows the entry analysed', async () => (await statusOf(tab2, diaryId).catch(() => null)) === 'COMPLETED' || undefined, 30_000, 100);
    expect(navigations, 'navigations of the second tab').to.equal(0);
    // The first tab's detail view fills in the thought record when the analysis completes.
    await tab1.locator('.thought-record .emotion-chart').waitFor({ timeout: 20_000 });
    expect(await tab1.locator('.thought').count()).to.be.greaterThan(0);
    await shot(tab1, 'thought-record');
    await shot(tab2, 'diary-list');
  });

  it('when the person fills in their thought record and saves it, then it is stored and the other tab, open on the same entry, shows it without a reload', async () => {
    await tab2.goto(app(0, `/diary/${firstEntry}`));
    await tab2.locator('.thought-record-form').waitFor({ timeout: 20_000 });
    const form = tab1.locator('.thought-record-form');
    await form.waitFor({ timeout: 20_000 });
    await form.locator('input[name="decision-0"][value="accepted"]').check();
    await form.locator('input[aria-label="Emotion"]').first().fill('anxious');
    await form.locator('input[aria-label="Before (0–100) anxious"]').fill('80');
    await form.locator('input[aria-label="After (0–100) anxious"]').fill('35');
    await form.locator('#trf-balancedThought').fill('One exam does not decide who I am.');
    await shot(tab1, 'thought-record-form');
    await form.locator('button[type=submit]').click();
    await form.locator('[role=status]', { hasText: 'Saved (version 1)' }).waitFor({ timeout: 10_000 });
    // The other tab heard thought-record:changed and read the record again.
    await waitUntil('the other tab shows the saved record', async () => (await tab2.locator('#trf-balancedThought').inputValue()) === 'One exam does not decide who I am.' || undefined, 15_000, 100);
    expect(await tab2.locator('input[name="decision-0"][value="accepted"]').isChecked()).to.equal(true);
    // Trends sums it up: one record, anxious 80 → 35.
    await tab1.locator('nav a', { hasText: 'Trends' }).click();
    const summary = tab1.locator('.thought-record-stats');
    await summary.waitFor({ timeout: 15_000 });
    expect(await summary.textContent()).to.include('1 thought record(s).').and.include('80 → 35 on average (-45)');
  });

  it('when an admin sends an announcement, then the user sees it once, acknowledges it, and the admin\'s count goes up live', async () => {
    const adminUser = await createTestUser(cluster.users, { role: 'ADMIN' });
    const adminContext = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    try {
      await adminContext.addInitScript(
        ([token, sessionId]) => {
          const { localStorage } = globalThis as unknown as PageGlobals;
          if (!localStorage.getItem('ed.session'))
            localStorage.setItem('ed.session', JSON.stringify({ accessToken: token, refreshToken: 'not-used', sessionId, accessExpiresAt: Date.now() + 600_000, refreshExpiresAt: new Date(Date.now() + 86_400_000).toISOString() }));
        },
        [adminUser.accessToken, adminUser.sessionId],
      );
      const admin = await adminContext.newPage();
      await admin.goto(app(1, '/admin'));
      await admin.locator('[data-admin-connected="true"]').waitFor({ timeout: 15_000 });
      await admin.locator('[data-total-sockets]').waitFor();
      await admin.fill('#ann-title-input', 'Maintenance tonight');
      await admin.fill('#ann-body-input', 'The diary will be read-only from 22:00 to 22:15.');
      await admin.click('text=Send to everyone');
      const badge = admin.locator('li', { hasText: 'Maintenance tonight' }).locator('[data-acks]');
      await badge.waitFor();
      expect(await badge.getAttribute('data-acks')).to.equal('0');

      const dialog = tab1.locator('dialog.announcement[open]');
      await dialog.waitFor({ timeout: 15_000 });
      expect(await dialog.textContent()).to.include('Maintenance tonight');
      await shot(tab1, 'announcement');
      await dialog.locator('button').click();
      await waitUntil('the admin sees the acknowledgement', async () => (await badge.getAttribute('data-acks')) === '1' || undefined, 15_000, 100);
      // Shown once: the second tab, which had it too, drops it.
      await waitUntil('the second tab drops it', async () => (await tab2.locator('dialog.announcement[open]').count()) === 0 || undefined, 5_000, 100);
      // The admin is a user too and got the announcement: dismissed, so the screenshot shows the console.
      if (await admin.locator('dialog.announcement[open]').count()) await admin.locator('dialog.announcement[open] button').click();
      await shot(admin, 'admin-console');
    } finally {
      await adminContext.close();
    }
  });

  it('when the API instance a page is on is killed, then the page says so, reconnects, and catches up on what was written meanwhile', async () => {
    await tab1.goto(app(0));
    await tab1.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    const { accessToken, userId } = await tab1.evaluate(() => {
      const s = JSON.parse((globalThis as unknown as PageGlobals).localStorage.getItem('ed.session')!) as { accessToken: string };
      return { accessToken: s.accessToken, userId: JSON.parse(atob(s.accessToken.split('.')[1]!)).sub as string };
    });
    await cluster.apis[0]!.kill();
    await tab1.locator('[data-connection="reconnecting"]').waitFor({ timeout: 15_000 });

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${cluster.apis[1]!.url}/api/v1/diaries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ content: `Written while my page was cut off, number ${i}. I was calm and glad.` }),
      });
      expect(res.status).to.equal(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const stored = async () => {
      const res = await fetch(`${cluster.apis[1]!.url}/api/v1/notifications?limit=50`, { headers: { authorization: `Bearer ${accessToken}` } });
      return ((await res.json()) as { items: Array<{ seq: number; payload: { diaryId: string; status: string } }> }).items;
    };
    const last = await waitUntil(
      'the three analyses stored',
      async () => {
        const items = await stored();
        return ids.every((id) => items.some((n) => n.payload.diaryId === id && n.payload.status === 'COMPLETED')) ? Math.max(...items.map((n) => n.seq)) : undefined;
      },
      30_000,
    );

    await cluster.startApi(0);
    await tab1.locator('[data-connection="live"]').waitFor({ timeout: 30_000 });
    // Every notification written while away was applied by the page: its high-water mark reached
    // the last one. The second tab, on the same instance, caught up too, and neither took the other's mark.
    for (const [name, tab] of [['the page', tab1], ['the second tab', tab2]] as const) {
      await waitUntil(`${name} caught up`, async () => (await tab.evaluate((u) => Number((globalThis as unknown as PageGlobals).sessionStorage.getItem(`ed.lastSeq.${u}`)), userId)) >= last || undefined, 15_000, 100);
    }
    for (const id of ids) await waitUntil(`entry ${id} shown analysed`, async () => (await statusOf(tab1, id).catch(() => null)) === 'COMPLETED' || undefined, 15_000, 100);
  });

  it('when the language is switched to Korean, then the whole UI is in Korean', async () => {
    await tab1.selectOption('header .lang select', 'ko');
    await tab1.locator('h1', { hasText: '나의 일기' }).waitFor();
    expect(await tab1.getAttribute('html', 'lang')).to.equal('ko');
    expect(await tab1.locator('nav').textContent()).to.include('알림함');
    await shot(tab1, 'diary-list-ko');
    await tab1.selectOption('header .lang select', 'en');
  });

  it('when the page is as narrow as a phone, then nothing runs off the side (diary list, thought record, inbox)', async () => {
    const phone = await userContext.newPage();
    try {
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(app(0));
      await phone.locator('.diary-title').first().waitFor();
      const overflow = () => phone.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth - (globalThis as unknown as PageGlobals).innerWidth);
      expect(await overflow(), 'diary list').to.be.at.most(0);
      await shot(phone, 'diary-list-phone');
      await phone.locator('.diary-title').first().click();
      await phone.locator('.thought-record').waitFor({ timeout: 20_000 });
      expect(await overflow(), 'thought record').to.be.at.most(0);
      await phone.locator('nav a', { hasText: 'Inbox' }).click();
      await phone.locator('h1', { hasText: 'Inbox' }).waitFor();
      expect(await overflow(), 'inbox').to.be.at.most(0);
    } finally {
      await phone.close();
    }
  });

  it('when the access token expires with two tabs open, then one refresh serves both, silently: both stay signed in and live', async () => {
    const refreshes: string[] = [];
    for (const [name, tab] of [['tab1', tab1], ['tab2', tab2]] as const) {
      tab.on('request', (r) => void (r.url().endsWith('/api/v1/auth/refresh') && refreshes.push(name)));
    }
    const stored = (tab: Page) => tab.evaluate(() => JSON.parse((globalThis as unknown as PageGlobals).localStorage.getItem('ed.session')!) as { accessToken: string; accessExpiresAt: number });
    const before = await stored(tab1);
    await waitUntil('past the token\'s expiry, with a new one', async () => (Date.now() > before.accessExpiresAt + 2_000 && (await stored(tab1)).accessToken !== before.accessToken) || undefined, 60_000, 250);
    expect(refreshes, 'refresh calls from both tabs').to.have.length(1);
    expect((await stored(tab2)).accessToken).to.equal((await stored(tab1)).accessToken);
    for (const tab of [tab1, tab2]) {
      // The socket got the new token in time (auth:refresh): the server did not close it at the old one's expiry.
      expect(await tab.locator('[data-connection]').getAttribute('data-connection')).to.equal('live');
      await tab.locator('nav a', { hasText: 'Inbox' }).click();
      await tab.locator('h1', { hasText: 'Inbox' }).waitFor();
      expect(await tab.locator('[role=alert]').count()).to.equal(0);
    }
  });

  it('when the main screens are checked with axe-core, then none has a serious or critical violation', async () => {
    const axe = readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
    const guest = await browser.newContext();
    try {
      const login = await guest.newPage();
      await login.goto(app(0, '/login'));
      await login.locator('h1').waitFor();
      const pages: Array<[string, Page]> = [['login', login], ['diary list', tab1], ['entry', tab2]];
      await tab2.goto(app(0));
      await tab2.locator('.diary-title').first().click();
      await tab2.locator('.thought-record').waitFor({ timeout: 20_000 });
      for (const [name, page] of pages) {
        // Evaluated by the DevTools protocol: the page's CSP (script-src 'self') rightly refuses inline scripts.
        await page.evaluate(axe);
        const violations = await page.evaluate(async () => {
          const result = await (globalThis as unknown as PageGlobals).axe.run();
          return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
        });
        const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        expect(serious, `${name}: ${JSON.stringify(serious)}`).to.deep.equal([]);
      }
    } finally {
      await guest.close();
    }
  });

  it('when the bundle is built, then its size is reported (gzip)', () => {
    const assets = path.join(ROOT, 'web', 'dist', 'assets');
    const files = readdirSync(assets).filter((f) => /\.(js|css)$/.test(f));
    const gzip = files.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(assets, f))).length, 0);
    console.log(`      web bundle: ${files.length} files, ${(gzip / 1024).toFixed(1)} KiB gzip`);
    expect(files.some((f) => f.endsWith('.js'))).to.equal(true);
  });
});
