#!/usr/bin/env node
// Overview (总览) page load in Debian's Chromium against a running server: signs in once,
// then loads /console/#/overview RUNS times (a fresh page each time, HTTP cache on like
// an officer's browser after the first visit) and prints the median and the slowest
// time from navigation to the duties table drawn, and the median of GET /v1/coverage
// as the page saw it. Started by scripts/bench-console.
// Env: GW_BASE, GW_OFFICER, GW_PASSWORD, RUNS (default 7), CHROMIUM.
import { chromium } from 'playwright-core';

const base = process.env.GW_BASE;
const runs = Number(process.env.RUNS ?? 7);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const login = await context.newPage();
  await login.goto(`${base}/console/`);
  await login.getByTestId('login-user').fill(process.env.GW_OFFICER);
  await login.getByTestId('login-password').fill(process.env.GW_PASSWORD);
  await login.getByTestId('login-submit').click();
  await login.getByTestId('overview-duties').waitFor();
  await login.close();
  const pages = [];
  const coverage = [];
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`${base}/console/#/overview`);
    await page.getByTestId('overview-duties').waitFor();
    pages.push(Date.now() - started);
    const api = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => e.name.includes('/v1/coverage')).map((e) => e.duration));
    if (api.length) coverage.push(api[0]);
    await page.close();
  }
  console.log(`overview page load: median ${median(pages)} ms, slowest ${Math.max(...pages)} ms (${runs} runs)`);
  console.log(`GET /v1/coverage as the page saw it: median ${Math.round(median(coverage))} ms`);
} finally {
  await browser.close();
}
