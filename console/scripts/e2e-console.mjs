#!/usr/bin/env node
// The officer console in Debian's Chromium (playwright-core) against a real
// gridwalk-server whose data came through the real sync path. Started by
// tests/system/tests/console_browser.rs, which prepares the server and checks what the
// clicks changed; this script drives the pages and saves a screenshot of each to
// GW_SHOTS (target/console-screenshots). Exits non-zero on the first failed check.
//
// Env: GW_BASE (http://127.0.0.1:PORT), GW_OFFICER / GW_PASSWORD (an officer of the
// town holding the data), GW_OTHER / GW_OTHER_PASSWORD (an officer of another town),
// GW_HAZARD, GW_INSPECTION (ids in the first town), GW_TOWN, GW_EXPERT (an expert of
// it), GW_USCC / GW_USCC_NAME (an enterprise of it), GW_TIP / GW_TIP_PHONE (a tip the
// phone verified, its reporter's phone), GW_REPORTER_PHONE (for the tip recorded here),
// GW_TENANT / GW_PRE_LEASE (a 厂中厂 tenant of it and its failed pre-lease check),
// GW_AUDITOR / GW_AUDITOR_PASSWORD (the district's administrator, who reads the audit
// log), GW_SHOTS, CHROMIUM.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env('GW_BASE');
const shots = env('GW_SHOTS');
const hazardId = env('GW_HAZARD');
const inspectionId = env('GW_INSPECTION');
mkdirSync(shots, { recursive: true });
const started = Date.now();
const step = (s) => console.log(`e2e:console · ${((Date.now() - started) / 1000).toFixed(1)} s · ${s}`);
function check(cond, msg) {
  if (!cond) throw new Error(`check failed: ${msg}`);
}
function chinaDay(offset) {
  return new Date(Date.now() + 8 * 3600_000 + offset * 86_400_000).toISOString().slice(0, 10);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
let page;
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  const tid = (id) => page.getByTestId(id);
  const shot = async (name) => {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    step(`screenshot ${name}`);
  };
  const signIn = async (user, password) => {
    await tid('login-user').fill(user);
    await tid('login-password').fill(password);
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/login')),
      tid('login-submit').click(),
    ]);
  };
  const errorIncludes = (text) => page.waitForFunction(
    (t) => document.querySelector('[data-testid=login-error]')?.textContent?.includes(t), text);

  // Sign-in: a wrong password first, then the right one.
  await page.goto(`${base}/`);
  await tid('page-login').waitFor();
  await shot('01-login');
  await signIn(env('GW_OFFICER'), 'not-the-password');
  await errorIncludes('用户名或密码错误');
  await signIn(env('GW_OFFICER'), env('GW_PASSWORD'));
  await tid('page-overview').waitFor();
  check((await tid('who').innerText()).includes(env('GW_OFFICER')), 'signed-in user shown');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gw_session');
  check(session && session.httpOnly && session.sameSite === 'Strict', `session cookie HttpOnly+Strict: ${JSON.stringify(session)}`);
  check(!(await page.evaluate(() => document.cookie)).includes('gw_session'), 'scripts cannot read the session');

  // 总览: the campaign's duties, a duty's divisions, the enterprises behind a number.
  await tid('overview-duties').waitFor();
  const duties = await page.locator('[data-testid=overview-duties] tbody tr').count();
  check(duties >= 5, `the campaign's duties listed (${duties})`);
  check((await tid('overview-campaign-name').innerText()).includes('粉尘'), 'campaign name');
  await shot('02-overview');
  // 专项行动进度表 downloads with the session; the Rust side opens it.
  const [progress] = await Promise.all([page.waitForEvent('download'), tid('export-coverage').click()]);
  check(/\.xlsx$/.test(progress.suggestedFilename()), `a progress sheet: ${progress.suggestedFilename()}`);
  await progress.saveAs(join(shots, 'coverage.xlsx'));
  await page.locator('[data-testid=overview-duties] tbody tr td:nth-child(2) a').first().click();
  await tid('overview-children').waitFor();
  await shot('03-overview-duty');
  await page.locator('[data-testid=overview-duties] tbody tr.selected td:nth-child(5) a').click();
  await tid('page-coverage').waitFor();
  await tid('coverage-count').waitFor();
  const listed = await page.locator('[data-testid=coverage-rows] tbody tr').count();
  check(listed >= 1, 'enterprises behind the number');
  await shot('04-coverage-list');

  // 企业: the register searched like the phone (pinyin initials of 金坛铝业抛光), with the
  // dust type the expert confirmed on the visit.
  await tid('nav-enterprises').click();
  await tid('enterprises-rows').waitFor();
  check((await page.locator('[data-testid=enterprise-row]').count()) === 4, 'the town\'s register and the tenant a phone registered');
  await tid('enterprises-q').fill('jtlypg');
  await tid('enterprises-search').click();
  await page.waitForFunction(() => location.hash.includes('q=jtlypg'));
  await tid('enterprises-rows').waitFor();
  check((await page.locator('[data-testid=enterprise-row]').count()) === 3, 'pinyin initials find them');
  await tid('enterprises-q').fill('抛光1厂');
  await tid('enterprises-search').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=enterprise-row]').length === 1);
  check(await tid('dust-confirmed').isVisible(), 'the confirmed dust type is marked');
  await shot('05-enterprises');

  // 厂中厂: the site with its landlord and tenant, 不适租 after the phone's pre-lease
  // check; the status filter in the URL; the ledger downloads.
  await tid('nav-leases').click();
  await tid('leases-count').waitFor();
  check((await page.locator('[data-testid=lease-site]').count()) === 2, 'the register\'s site and the one a phone recorded');
  const leaseRow = page.locator('[data-testid=lease-row]');
  check((await leaseRow.count()) === 2, 'two leases');
  const tenantRow = leaseRow.filter({ hasText: env('GW_TENANT') });
  check((await tenantRow.count()) === 1, 'the tenant listed');
  check((await tenantRow.getByTestId('lease-status').innerText()).includes('不适租'), 'not fit to lease');
  check((await tenantRow.innerText()).includes('FZ-P-05'), 'the failed item named');
  check((await tenantRow.getByTestId('recorded-on-site').count()) === 0, 'an imported lease is not marked');
  const phoneRow = leaseRow.filter({ hasText: env('GW_PHONE_TENANT') });
  check((await phoneRow.getByTestId('recorded-on-site').innerText()).includes('现场登记'), 'the phone\'s lease is marked 现场登记');
  check((await phoneRow.innerText()).includes('铝件打磨'), 'with its use');
  check((await phoneRow.getByTestId('lease-status').innerText()).includes('未体检'), 'its tenant not checked yet');
  await shot('06a-leases-all');
  check((await tid('pre-lease-link').getAttribute('href')).includes(env('GW_PRE_LEASE')), 'links the pre-lease check');
  await tid('leases-status').selectOption('fit');
  await page.waitForFunction(() => location.hash.includes('status=fit'));
  await tid('leases-count').waitFor();
  check((await leaseRow.count()) === 0, 'no fit lease yet');
  await tid('leases-status').selectOption('not_fit');
  await page.waitForFunction(() => location.hash.includes('status=not_fit'));
  await tid('lease-row').waitFor();
  const [leases] = await Promise.all([page.waitForEvent('download'), tid('export-leases').click()]);
  check(/\.xlsx$/.test(leases.suggestedFilename()), `an xlsx file: ${leases.suggestedFilename()}`);
  await leases.saveAs(join(shots, 'leases.xlsx'));
  await shot('06a-leases');
  await tid('pre-lease-link').click();
  await page.waitForFunction((id) => location.hash.includes(id), env('GW_PRE_LEASE'));

  // 隐患: the ledger, one hazard, 挂牌督办 from the console.
  await tid('nav-hazards').click();
  await tid('hazards-rows').waitFor();
  check(await tid(`hazard-${hazardId}`).isVisible(), 'the synced hazard is listed');
  // The hazard ledger (台账) downloads with the session; the Rust side opens it.
  const [download] = await Promise.all([page.waitForEvent('download'), tid('export-hazards').click()]);
  check(/\.xlsx$/.test(download.suggestedFilename()), `an xlsx file: ${download.suggestedFilename()}`);
  await download.saveAs(join(shots, 'hazards.xlsx'));
  await shot('06-hazards');
  await tid(`hazard-${hazardId}`).click();
  await tid('hazard-description').waitFor();
  // Re-inspected on the phone: before and after side by side, and it may be closed.
  check((await tid('hazard-status').innerText()).includes('已复查'), 'the phone\'s re-inspection arrived');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=photo-after], [data-testid=photo-before]')]
    .filter((img) => img.complete && img.naturalWidth > 0).length >= 2);
  await tid('list-notice').fill('金安督〔2026〕88号');
  await tid('list-body').fill('金坛区安委办');
  await tid('list-deadline').fill(chinaDay(20));
  await tid('list-submit').click();
  await tid('hazard-saved').waitFor();
  check((await tid('hazard-listed').innerText()).includes('金安督〔2026〕88号'), 'listed supervision shown');
  await shot('07-hazard');
  await tid('close-submit').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=hazard-status]')?.textContent?.includes('已销号'));
  // A write without the CSRF token is refused, even with the cookie.
  const csrf = await page.evaluate(async (id) => {
    const r = await fetch(`/v1/hazards/${id}/events`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'closed' }) });
    return [r.status, (await r.json()).code];
  }, hazardId);
  check(csrf[0] === 403 && csrf[1] === 'csrf_failed', `write without CSRF token: ${csrf}`);

  // 检查: the list, one inspection, a review with a comment.
  await tid('nav-inspections').click();
  await tid('inspections-rows').waitFor();
  const inspections = await page.locator('[data-testid=inspection-row]').count();
  check(inspections >= 2, `inspections listed (${inspections})`);
  await shot('08-inspections');
  await tid(`inspection-${inspectionId}`).click();
  await tid('review-form').waitFor();
  // The evidence panel: every photo held, re-hashed, drawn, in an unbroken chain.
  const photos = await page.locator('[data-testid=photo-evidence]').count();
  check(photos >= 2, `the inspection's photos (${photos})`);
  check((await page.locator('[data-testid=photo-verified]').count()) === photos, 'every photo re-verified');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=photo-evidence] img')]
    .every((img) => img.complete && img.naturalWidth > 0));
  check((await tid('inspection-chain').innerText()).includes('链路连续'), 'the record is linked in its chain');
  check((await page.locator('[data-testid=inspection-answers] tbody tr').count()) >= 5, 'the answers with their labels');
  // The printable record (检查记录) downloads as a PDF; the Rust side extracts its text.
  const [pdf] = await Promise.all([page.waitForEvent('download'), tid('record-pdf').click()]);
  check(/\.pdf$/.test(pdf.suggestedFilename()), `a pdf file: ${pdf.suggestedFilename()}`);
  await pdf.saveAs(join(shots, 'record.pdf'));
  await tid('review-has_issues').check();
  await tid('review-submit').click();
  await tid('error').waitFor();
  check((await tid('error').innerText()).includes('审核意见'), 'a verdict other than approved needs a comment');
  await tid('review-comment').fill('泄爆口照片不清晰，请复查时补拍（控制台）');
  await tid('review-submit').click();
  await tid('review-saved').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=inspection-review]')?.textContent?.includes('有问题'));
  await shot('09-inspection-review');

  // 任务: an assignment made from the form, then cancelled.
  await tid('nav-assignments').click();
  await tid('assign-form').waitFor();
  await tid('assign-assignee').fill(env('GW_EXPERT'));
  await tid('assign-template').selectOption('expert-major-hazard');
  await tid('assign-due').fill(chinaDay(7));
  await tid('assign-usccs').fill(env('GW_USCC'));
  await tid('assign-submit').click();
  await tid('assignments-message').waitFor();
  check((await tid('assignments-message').innerText()).includes('已派发 1 项任务'), 'assignment made');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=assignment-row]').length >= 1);
  await shot('10-assignments');
  await page.locator('[data-testid=assignment-row]', { hasText: env('GW_USCC_NAME') }).getByTestId('cancel').click();
  await tid('act-reason').fill('企业已停产，改期检查');
  await tid('act-submit').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=assignments-progress]')?.textContent?.includes('已撤销 1'));

  // 督导抽查: a reproducible sample of the town, then visits assigned from it.
  await tid('nav-samples').click();
  await tid('draw-form').waitFor();
  await tid('draw-town').fill(env('GW_TOWN'));
  await tid('draw-seed').fill('20261207');
  await tid('draw-submit').click();
  await tid('page-sample').waitFor();
  await tid('sample-rows').waitFor();
  const drawn = await page.locator('[data-testid=sample-row]').count();
  check(drawn >= 1, `a sample drawn (${drawn})`);
  check((await tid('sample-seed').innerText()).trim() === '20261207', 'the seed is shown');
  await shot('11-sample');
  await tid('sample-assign').click();
  await tid('assign-form').waitFor();
  await tid('assign-assignee').fill(env('GW_EXPERT'));
  await tid('assign-template').selectOption('expert-major-hazard');
  await tid('assign-due').fill(chinaDay(10));
  await tid('assign-submit').click();
  await tid('assignments-message').waitFor();
  check((await tid('assignments-message').innerText()).includes(`已派发 ${drawn} 项任务`), 'one visit per sampled enterprise');

  // 举报核查: a tip recorded from the form (its reporter kept apart); the tip the phone
  // verified (属实) gets its reward decision; the reporter shows only behind a click.
  const reporterPhone = env('GW_REPORTER_PHONE');
  await tid('nav-tips').click();
  await tid('tip-form').waitFor();
  await tid('tips-summary').waitFor();
  await tid('tip-content').fill('12350来电：抛光2厂夜班除尘器停机仍在生产，车间积尘严重');
  await tid('tip-uscc').fill(env('GW_USCC'));
  await tid('tip-assignee').fill(env('GW_EXPERT'));
  await tid('tip-deadline').fill(chinaDay(3));
  await tid('tip-reporter-name').fill('周某');
  await tid('tip-reporter-contact').fill(reporterPhone);
  await tid('tip-submit').click();
  await tid('tips-message').waitFor();
  check((await tid('tips-message').innerText()).includes('核查任务已派发'), 'the tip became a verification');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tip-row]').length === 2);
  const total = await tid('tips-total').innerText();
  check(/合计\s+2\s+1\s+1\s+1\s+0/.test(total), `received 2, verified 1, substantiated 1, pending 1, overdue 0: ${total}`);
  check(!(await page.locator('[data-testid=tips-rows]').innerText()).includes(reporterPhone), 'no reporter in the list');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('16-tips');
  await page.goto(`${base}/console/#/tips?status=verified`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=tip-row]').length === 1);
  check(await tid('tips-status').inputValue() === 'verified', 'the filter comes from the URL');
  await page.locator('[data-testid=tip-row] a').first().click();
  await tid('page-tip').waitFor();
  check((await tid('tip-outcome').innerText()).includes('属实'), 'the phone\'s outcome');
  check(await tid('tip-inspection').isVisible(), 'the verification inspection is linked');
  await tid('reward-decision').selectOption('granted');
  await tid('reward-amount').fill('500');
  await tid('reward-note').fill('依据举报奖励办法，核查属实');
  await tid('reward-submit').click();
  await tid('tip-message').waitFor();
  check((await tid('tip-reward').innerText()).includes('给予奖励'), 'the reward decision shown');
  check(!(await page.locator('body').innerText()).includes(env('GW_TIP_PHONE')), 'no reporter before the click');
  await tid('show-reporter').click();
  await tid('tip-reporter').waitFor();
  check((await tid('tip-reporter').innerText()).includes(env('GW_TIP_PHONE')), 'the recorder sees the reporter');
  await shot('17-tip');

  // 地图: no tiles configured, so the points draw on a plain background in their frame.
  await tid('nav-map').click();
  await tid('map-counts').waitFor();
  // The dust verification, the expert's checklist and the pre-lease check.
  await page.waitForFunction(() => document.querySelector('[data-testid=map]')?.dataset.drawnInspections === '3');
  check(await page.evaluate(() => document.querySelector('[data-testid=map]')?.dataset.frame) === 'true', 'the frame of the points');
  check((await page.locator('[data-testid=map] canvas').count()) >= 1, 'drawn on a canvas');
  check((await tid('map-counts').innerText()).includes('检查 3 次'), 'every inspection on the map');
  await shot('12-map');

  // A bookmarked URL survives a reload (the cookie keeps the session).
  await page.goto(`${base}/console/#/hazards?overdue=1`);
  await tid('page-hazards').waitFor();
  check(await tid('hazards-overdue').isChecked(), 'the filter comes from the URL');

  // Sign out: the session ends on the server.
  await tid('logout').click();
  await tid('login-notice').waitFor();
  const after = await page.evaluate(async () => (await fetch('/v1/session')).status);
  check(after === 401, `no session after sign-out (${after})`);
  await shot('13-signed-out');

  // Another town's officer sees none of it.
  await signIn(env('GW_OTHER'), env('GW_OTHER_PASSWORD'));
  await tid('page-overview').waitFor();
  await tid('nav-hazards').click();
  await tid('hazards-count').waitFor();
  check((await page.locator('[data-testid=hazard-row]').count()) === 0, 'no hazards of another town');
  await page.goto(`${base}/console/#/hazard/${hazardId}`);
  await tid('error').waitFor();
  check((await tid('error').innerText()).includes('没有找到'), 'another town\'s hazard is not found');
  await tid('nav-inspections').click();
  await tid('inspections-count').waitFor();
  check((await page.locator('[data-testid=inspection-row]').count()) === 0, 'no inspections of another town');
  await tid('nav-assignments').click();
  await tid('assignments-progress').waitFor();
  check((await page.locator('[data-testid=assignment-row]').count()) === 0, 'no assignments of another town');
  await tid('nav-enterprises').click();
  await tid('enterprises-count').waitFor();
  check((await page.locator('[data-testid=enterprise-row]').count()) === 0, 'no enterprises of another town');
  await tid('nav-samples').click();
  await tid('samples-rows').waitFor();
  check((await page.locator('[data-testid=samples-rows] a').count()) === 0, 'no samples of another town');
  await tid('nav-tips').click();
  await tid('tips-summary').waitFor();
  check((await page.locator('[data-testid=tip-row]').count()) === 0, 'no tips of another town');
  await page.goto(`${base}/console/#/tip/${env('GW_TIP')}`);
  await tid('error').waitFor();
  check((await tid('error').innerText()).includes('没有找到'), 'another town\'s tip is not found');
  await tid('nav-leases').click();
  await tid('leases-count').waitFor();
  check((await page.locator('[data-testid=lease-row]').count()) === 0, 'no leases of another town');
  check((await tid('nav-audit').count()) === 0, 'a town officer has no audit log in the menu');
  await page.goto(`${base}/console/#/audit`);
  await tid('error').first().waitFor();
  check((await tid('error').first().innerText()).includes('角色'), 'a town officer is refused the audit log');
  await shot('14-other-town');
  await tid('logout').click();
  await tid('page-login').waitFor();

  // Repeated failures lock the name for a while.
  for (let i = 0; i < 4; i++) {
    await signIn(env('GW_OTHER'), `wrong-${i}`);
    await errorIncludes('用户名或密码错误');
  }
  await signIn(env('GW_OTHER'), 'wrong-4');
  await errorIncludes('锁定');
  await signIn(env('GW_OTHER'), env('GW_OTHER_PASSWORD'));
  await errorIncludes('锁定');
  check(await tid('page-login').isVisible(), 'the right password waits for the lock');
  await shot('15-locked');

  // 审计日志: the district's administrator sees the officer's sign-in, and the chain holds.
  await signIn(env('GW_AUDITOR'), env('GW_AUDITOR_PASSWORD'));
  await tid('page-overview').waitFor();
  await tid('nav-audit').click();
  await tid('audit-chain').waitFor();
  check(await tid('audit-chain').getAttribute('data-valid') === 'true', `chain valid: ${await tid('audit-chain').innerText()}`);
  check((await tid('audit-chain').innerText()).includes('哈希链完整'), 'the chain check says valid in Chinese');
  await tid('audit-actor').fill(env('GW_OFFICER'));
  await tid('audit-action').fill('login.*');
  await tid('audit-submit').click();
  await page.waitForFunction(() => location.hash.includes('action=login'));
  await tid('audit-rows').waitFor();
  const logins = page.locator(`[data-testid=audit-row][data-action="login.ok"][data-actor="${env('GW_OFFICER')}"]`);
  await logins.first().waitFor();
  check((await logins.first().innerText()).includes('登录成功'), 'the officer\'s sign-in, labelled in Chinese');
  check((await page.locator('[data-testid=audit-row][data-action="login.failed"]').count()) >= 1, 'the wrong password before it');
  check(!(await tid('audit-rows').innerText()).includes('not-the-password'), 'no password in the log');
  await shot('16-audit');
  check(errors.length === 0, `no page errors: ${errors.join('; ')}`);
  step('passed');
} catch (e) {
  // What the page showed when a check failed.
  if (page) {
    await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`e2e:console FAILED at ${page.url()}\n${await page.locator('body').innerText().catch(() => '')}`);
  }
  console.error(`page errors: ${errors.join('; ')}`);
  throw e;
} finally {
  await browser.close();
}
