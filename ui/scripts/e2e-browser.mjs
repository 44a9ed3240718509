#!/usr/bin/env node
// Browser smoke run of the built UI against the fake backend: serves ui/dist with
// `vite preview` on loopback, drives Debian's chromium through playwright-core at
// 360×640 through the main flow, and saves a screenshot of every screen to
// ui/screenshots/. Needs `npm run build` first (npm run e2e:browser does both).
//
// Env: CHROMIUM (default /usr/bin/chromium), GRIDWALK_TESTDATA (default ../../shared/testdata),
//      E2E_PORT (default 4173).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ui = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.E2E_PORT ?? 4173);
const base = `http://127.0.0.1:${port}/`;
const shots = join(ui, 'screenshots');
const testdata = process.env.GRIDWALK_TESTDATA ?? resolve(ui, '../../shared/testdata');
const photoPath = join(testdata, 'photos', 'gps__DSCN0010.jpg');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

function fail(msg) {
  console.error(`e2e:browser FAILED: ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}
if (!existsSync(join(ui, 'dist', 'index.html'))) fail('ui/dist missing: run npm run build');
if (!existsSync(executablePath)) fail(`${executablePath} missing: apt-get install -y chromium fonts-noto-cjk`);
mkdirSync(shots, { recursive: true });

async function waitForServer(url, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { if ((await fetch(url)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail(`preview server did not answer at ${url}`);
}

const server = spawn(join(ui, 'node_modules', '.bin', 'vite'), ['preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { cwd: ui, stdio: ['ignore', 'pipe', 'inherit'] });
let browser;
const step = (s) => console.log(`e2e:browser · ${s}`);
try {
  await waitForServer(base);
  browser = await chromium.launch({ executablePath, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const context = await browser.newContext({ viewport: { width: 360, height: 640 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const tid = (id) => page.getByTestId(id);
  const shot = async (name) => { await page.waitForTimeout(150); await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false }); step(`screenshot ${name}`); };

  // Enroll.
  await page.goto(`${base}?fake=unenrolled#/enroll`);
  await tid('screen-enroll').waitFor();
  await shot('01-enroll');
  await tid('enroll-server').fill('https://gridwalk.example.cn');
  await tid('enroll-code').fill('7K3P-Q9XM');
  await tid('enroll-submit').click();
  await tid('screen-home').waitFor();
  await tid('count-not-visited').waitFor();
  await tid('todo-row').first().waitFor();
  await shot('02-home');

  // 待办: the user's assignments from the district, overdue first; one opens its enterprise.
  if ((await tid('todo-row').count()) !== 2) fail(`expected 2 open assignments, saw ${await tid('todo-row').count()}`);
  if ((await tid('todo-row').first().getAttribute('data-overdue')) !== 'true') fail('the first assignment is not marked overdue');
  if (!((await tid('todo-overdue').first().textContent()) ?? '').includes('逾期')) fail('no 逾期 on the overdue assignment');
  await tid('todo-row').first().scrollIntoViewIfNeeded();
  await shot('02b-home-todo');
  await tid('todo-row').first().click();
  await page.waitForFunction(() => document.querySelector('[data-testid=enterprise-name]')?.textContent?.includes('纺织品'));

  // Search by pinyin initials.
  await tid('tab-enterprises').click();
  await tid('search-box').fill('jtxc');
  await page.waitForFunction(() => document.querySelector('[data-testid=search-hint]')?.textContent?.includes('拼音') && document.querySelectorAll('[data-testid=result-row]').length === 2);
  await shot('03-search-jtxc');
  const first = (await tid('result-row').first().textContent()) ?? '';
  if (!first.includes('鑫诚铝业')) fail(`first hit was ${first}`);
  await tid('result-row').first().click();

  // Enterprise page.
  await tid('enterprise-name').waitFor();
  await shot('04-enterprise');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await shot('05-enterprise-bottom');
  await tid('start-inspection').click();
  await tid('template-picker').waitFor();
  await shot('06-template-picker');
  await page.locator('[data-testid=template-option][data-template=expert-major-hazard]').click();

  // Checklist runner, one item at a time.
  await tid('screen-runner').waitFor();
  await tid('item').waitFor();
  await shot('07-runner-first-item');
  let shotPhoto = false;
  for (let guard = 0; guard < 60; guard++) {
    const item = await tid('item').getAttribute('data-item');
    if (await tid('answer-yes').count()) {
      // Pass every item except MH-D-03 (干式除尘系统未采取…): answering 是 is a major finding.
      const text = (await tid('item').textContent()) ?? '';
      const failsIfYes = text.includes('答“是”即为隐患');
      const pick = item === 'MH-D-03' ? 'answer-yes' : failsIfYes ? 'answer-no' : 'answer-yes';
      await tid(pick).click();
      await page.waitForFunction((p) => document.querySelector(`[data-testid=${p}]`)?.getAttribute('aria-pressed') === 'true', pick);
      if (item === 'MH-D-03') {
        await tid('photo-needed').waitFor();
        await shot('08-runner-major-needs-photo');
        await tid('take-photo-input').setInputFiles(photoPath);
        await tid('photo-thumb').first().waitFor();
        await tid('answer-note').fill('布袋除尘器无泄爆片');
        await tid('answer-note').blur();
        await page.waitForTimeout(200);
        await tid('photo-thumb').first().scrollIntoViewIfNeeded();
        await shot('09-runner-photo-watermarked');
        shotPhoto = true;
      }
    } else if (await tid('answer-text').count()) {
      await tid('answer-text').fill('除尘系统需整改，其余符合要求。');
      await tid('answer-save').click();
    } else if (await tid('take-photo-input').count() && (await tid('item-photos').locator('img').count()) === 0) {
      await tid('take-photo-input').setInputFiles(photoPath);
      await tid('photo-thumb').first().waitFor();
    }
    await page.waitForTimeout(60);
    if (await tid('next-item').count()) await tid('next-item').click();
    else break;
  }
  if (!shotPhoto) fail('never reached MH-D-03');
  await tid('toggle-mode').click();
  await tid('item-list').waitFor();
  await shot('10-runner-list');
  await tid('to-review').click();

  // Review, signature, finalize.
  await tid('screen-review').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=finding-row]').length > 0);
  if (await tid('review-missing').count()) fail('review still lists missing items');
  await shot('11-review');
  await tid('signer-name').fill('王建国');
  const pad = await tid('signature-pad').boundingBox();
  await tid('signature-pad').scrollIntoViewIfNeeded();
  const box = await tid('signature-pad').boundingBox() ?? pad;
  await page.mouse.move(box.x + 20, box.y + box.height * 0.7);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) await page.mouse.move(box.x + 20 + i * 12, box.y + box.height * (0.7 - 0.4 * Math.sin(i / 3)));
  await page.mouse.up();
  await page.waitForFunction(() => !document.querySelector('[data-testid=finalize]')?.hasAttribute('disabled'));
  await shot('12-review-signed');
  await tid('finalize').click();

  // Done: a 重大 hazard.
  await tid('screen-done').waitFor();
  await page.locator('[data-testid=done-hazard-row][data-severity=major]').first().waitFor();
  const doneText = (await tid('screen-done').textContent()) ?? '';
  if (!doneText.includes('重大')) fail('no 重大 hazard on the done screen');
  await shot('13-done-major-hazard');

  // 五定 on the new major hazard: a deadline later than the hazard's is explained, then saved.
  await page.locator('[data-testid=done-hazard-row][data-severity=major]').first().click();
  await tid('screen-hazard').waitFor();
  await tid('plan-none').waitFor();
  await tid('plan-edit').click();
  await tid('plan-measures-input').fill('加装泄爆片并更换防爆电机');
  await tid('plan-responsible-input').fill('王建国（设备科长）');
  await tid('plan-funds-input').fill('48000');
  const current = await tid('plan-deadline-input').inputValue();
  const later = new Date(Date.parse(`${current}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  await tid('plan-deadline-input').fill(later);
  await tid('plan-interim-input').fill('停用3号除尘器，人工清扫积尘');
  await tid('plan-save').click();
  await tid('plan-problem').waitFor();
  if (!((await tid('plan-problem').textContent()) ?? '').includes('区级监管')) fail('a later plan deadline is not explained');
  await tid('plan-problem').scrollIntoViewIfNeeded();
  await shot('13b-hazard-plan-form');
  await tid('plan-deadline-input').fill(current);
  await tid('plan-save').click();
  await tid('plan-saved').waitFor();
  if (((await tid('plan-funds').textContent()) ?? '') !== '48000 元') fail('plan funds not shown');
  await tid('hazard-plan').scrollIntoViewIfNeeded();
  await shot('13c-hazard-plan');

  // Hazards.
  await tid('tab-hazards').click();
  await tid('screen-hazards').waitFor();
  await page.locator('[data-testid=hazard-row][data-overdue=true]').first().waitFor();
  await shot('14-hazards');
  await page.locator('[data-testid=hazard-row][data-overdue=true]').first().click();
  await tid('screen-hazard').waitFor();
  await tid('photo-before-input').setInputFiles(photoPath);
  await tid('photo-thumb').first().waitFor();
  await tid('photo-after-input').setInputFiles(join(testdata, 'photos', 'gps__DSCN0021.jpg'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-thumb]').length === 2);
  await shot('15-hazard-reinspection');
  await tid('reinspect-pass').click();
  await tid('reinspect-saved').waitFor();
  // Another phone's close that came second is kept in the history, marked not applied.
  await tid('event-skipped').first().scrollIntoViewIfNeeded();
  await shot('15b-hazard-skipped-event');

  // The officer's review of the enterprise's earlier inspection.
  await page.locator('[data-testid=screen-hazard] a[href^="#/enterprise/"]').first().click();
  await tid('enterprise-name').waitFor();
  await tid('history-review').first().waitFor();
  await tid('history-row').first().click();
  await tid('screen-done').waitFor();
  if ((await tid('review-state').getAttribute('data-state')) !== 'has_issues') fail('review state not shown');
  if (((await tid('review-state').textContent()) ?? '').trim() !== '有问题') fail('review state not in Chinese');
  await tid('review-comment').waitFor();
  await shot('15c-inspection-review');
  await page.evaluate(() => { location.hash = '#/hazards'; });
  await tid('screen-hazards').waitFor();

  // Sync.
  await tid('tab-sync').click();
  await tid('screen-sync').waitFor();
  await page.locator('[data-testid=sync-row]').first().waitFor();
  await shot('16-sync');
  await tid('sync-now').click();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=sync-row]')].every((r) => r.getAttribute('data-state') === 'complete'));
  await shot('17-sync-done');

  // Home again: the synced inspection fulfilled one assignment; then English.
  await tid('tab-home').click();
  await tid('count-open-hazards').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=todo-row]').length === 1);
  await shot('18-home-after');
  await tid('tab-sync').click();
  await tid('lang-en').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=sync-now]')?.textContent?.includes('Sync now'));
  await shot('19-sync-english');
  await tid('lang-zh').click();

  // A grid worker's survey of 鑫诚铝业: what the register knows beside each question it
  // asks again (安全专员, 风险报告, 警示教育), and the evidence photo a claim needs.
  await page.goto(`${base}?fake=grid_worker#/enterprise/3f1b7c0e-8a52-5d3e-9b7a-1c2d3e4f5a01`);
  await tid('start-inspection').click();
  await page.locator('[data-testid=template-option][data-template=grid-survey]').click();
  await tid('screen-runner').waitFor();
  await tid('item').waitFor();
  const survey = await page.evaluate(() => location.hash.split('/')[2]);
  await page.evaluate((id) => { location.hash = `#/inspection/${id}/SV-08`; }, survey);
  await page.waitForFunction(() => document.querySelector('[data-testid=item]')?.getAttribute('data-item') === 'SV-08');
  await tid('item-known').waitFor();
  if (!((await tid('item-known').textContent()) ?? '').includes('未填报')) fail('SV-08 does not show the register\'s 未填报');
  if (!((await tid('item-evidence').textContent()) ?? '').includes('已填报')) fail('SV-08 does not say 已填报 needs a photo');
  await shot('20-survey-risk-report-known');
  await tid('answer-choice-helped_on_site').click();
  await tid('photo-needed').waitFor();
  await shot('21-survey-risk-report-evidence');
  await page.evaluate((id) => { location.hash = `#/inspection/${id}/SV-06`; }, survey);
  await page.waitForFunction(() => document.querySelector('[data-testid=item]')?.getAttribute('data-item') === 'SV-06');
  await tid('use-known').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid=answer-text]'))?.value === '王建国');
  await shot('22-survey-officer-known');

  // 厂中厂: 华宇喷涂's site and its tenant; a new tenant and its lease recorded offline.
  await page.evaluate(() => { location.hash = '#/enterprise/4b8c1d2e-3f40-5a61-b7c8-d9e0f1a2b3c4'; });
  await tid('enterprise-site').waitFor();
  await tid('enterprise-site').scrollIntoViewIfNeeded();
  await shot('23-site-leases');
  await tid('add-lease').click();
  await tid('lease-form').waitFor();
  await tid('lease-tenant-name').fill('常州市金坛顺达五金厂');
  await tid('lease-tenant-uscc').fill('91320413MA0000003V');
  await tid('lease-save').click();
  await tid('lease-error').first().waitFor();
  if (!((await tid('lease-error').first().textContent()) ?? '').includes('校验')) fail('a wrong USCC is not explained');
  await tid('lease-tenant-uscc').fill('91320413MA0000003U');
  await tid('lease-floors').fill('3-4');
  await tid('lease-area').fill('860');
  await tid('lease-start').fill('2026-12-01');
  await tid('lease-end').fill('2029-11-30');
  await tid('lease-use').fill('五金件抛光（铝）');
  await tid('lease-equipment').check();
  await tid('lease-agreement-no').check();
  await shot('24-lease-form');
  await tid('lease-save').click();
  await tid('screen-enterprise').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=site-lease]')].some((r) => r.textContent?.includes('顺达五金厂') && r.textContent?.includes('现场登记')));
  await tid('enterprise-site').scrollIntoViewIfNeeded();
  await shot('25-site-lease-recorded');

  // 疑似单位核实: the unit a tip named by address only, in 待办; found and registered here.
  await page.evaluate(() => { location.hash = '#/home'; });
  await tid('suspected-row').first().waitFor();
  await tid('suspected-row').first().click();
  await tid('suspected-form').waitFor();
  await tid('suspected-uscc').fill('91320413MA0000004X');
  await tid('suspected-save').click();
  await tid('suspected-error').first().waitFor();
  await tid('suspected-name').fill('常州市金坛恒达铝制品厂');
  await tid('suspected-uscc').fill(await page.evaluate(() => {
    const A = '0123456789ABCDEFGHJKLMNPQRTUWXY', W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    const b = '91320413MA0000005';
    let sum = 0; for (let i = 0; i < 17; i++) sum += A.indexOf(b[i]) * W[i];
    return b + A[(31 - (sum % 31)) % 31];
  }));
  await shot('26-suspected-unit');
  await tid('suspected-save').click();
  await tid('screen-enterprise').waitFor();
  await page.evaluate(() => { location.hash = '#/home'; });
  await tid('screen-home').waitFor();
  if (await tid('suspected-row').count()) fail('the answered suspected unit is still in 待办');

  const real = errors.filter((e) => !/geolocation|Permissions policy/i.test(e));
  if (real.length) fail(`page errors: ${real.join(' | ')}`);
  step('main flow passed');
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
