import { describe, expect, it } from 'vitest';
import { ApiError, errorText, login, query, setFetch, api } from './api';
import { chinaTime, chinaToday, countdown, daysUntil, percent } from './format';
import { CATALOGS, setLang } from './i18n';
import { href, parseHash } from './router';
import { actionLabel, canReadAudit, detailText, targetText } from './audit';

describe('router', () => {
  it('round-trips pages, ids and filters', () => {
    const h = href('coverage', { campaign: 'changzhou-2026-dust-100day', duty: 'd3', status: 'not_done', x: '' });
    expect(h).toBe('#/coverage?campaign=changzhou-2026-dust-100day&duty=d3&status=not_done');
    expect(parseHash(h)).toEqual({ page: 'coverage', params: { campaign: 'changzhou-2026-dust-100day', duty: 'd3', status: 'not_done' } });
    expect(parseHash(href('hazard', {}, 'a b/c'))).toEqual({ page: 'hazard', id: 'a b/c', params: {} });
    expect(href('hazards', { overdue: true })).toBe('#/hazards?overdue=1');
    const leases = href('leases', { division: '320413100000', status: 'not_fit', open: true });
    expect(leases).toBe('#/leases?division=320413100000&status=not_fit&open=1');
    expect(parseHash(leases)).toEqual({ page: 'leases', params: { division: '320413100000', status: 'not_fit', open: '1' } });
  });
  it('sends unknown or incomplete routes somewhere sensible', () => {
    expect(parseHash('').page).toBe('overview');
    expect(parseHash('#/nonsense').page).toBe('overview');
    expect(parseHash('#/hazard').page).toBe('hazards');
    expect(parseHash('#/tip').page).toBe('tips');
    expect(parseHash(href('tips', { status: 'verifying', division: '320413100000' })))
      .toEqual({ page: 'tips', params: { status: 'verifying', division: '320413100000' } });
    expect(parseHash('#/inspection/%E0%A4%A').id).toBe('%E0%A4%A');
  });
});

describe('format', () => {
  it('counts days in China time', () => {
    expect(chinaToday(new Date('2026-12-06T17:00:00Z'))).toBe('2026-12-07');
    expect(chinaToday(new Date('2026-12-06T15:59:00Z'))).toBe('2026-12-06');
    expect(daysUntil('2026-12-31', '2026-12-07')).toBe(24);
    setLang('zh');
    expect(countdown('2026-12-10', '2026-12-07')).toBe('剩 3 天');
    expect(countdown('2026-12-07', '2026-12-07')).toBe('今天到期');
    expect(countdown('2026-12-01', '2026-12-07')).toBe('逾期 6 天');
    expect(chinaTime('2026-12-06T16:30:00Z')).toBe('2026-12-07 00:30');
    expect(percent(1, 3)).toBe(33.3);
    expect(percent(0, 0)).toBe(0);
  });
});

describe('i18n', () => {
  it('has every key in both languages, with the same placeholders', () => {
    for (const key of Object.keys(CATALOGS.zh) as (keyof typeof CATALOGS.zh)[]) {
      const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join(',');
      expect(ph(CATALOGS.en[key]), key).toBe(ph(CATALOGS.zh[key]));
    }
  });
});

function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), { status, headers });
}

describe('api', () => {
  it('sends the CSRF token from sign-in with writes, never with reads', async () => {
    const seen: { method: string; csrf: string | null; body: string | null }[] = [];
    setFetch((async (_url: RequestInfo | URL, init?: RequestInit) => {
      const h = (init?.headers ?? {}) as Record<string, string>;
      seen.push({ method: init?.method ?? 'GET', csrf: h['X-CSRF-Token'] ?? null, body: (init?.body as string) ?? null });
      if (seen.length === 1) return answer(200, { user_name: '赵科长', role: 'officer', jurisdiction: '320413100000', csrf_token: 'tok', expires_at: '', idle_minutes: 60 });
      return answer(200, []);
    }) as typeof fetch);
    await login('赵科长', 'pw');
    expect(JSON.parse(seen[0].body ?? '{}')).toMatchObject({ session_cookie: true });
    await api.hazards({ overdue: true });
    await api.review('i1', 'approved', '');
    expect(seen.map((s) => [s.method, s.csrf])).toEqual([['POST', null], ['GET', null], ['POST', 'tok']]);
  });
  it('turns problems into coded errors with Chinese text', async () => {
    setFetch((async () => answer(429, { code: 'account_locked', detail: 'locked', status: 429 }, { 'Retry-After': '900' })) as typeof fetch);
    const e = await login('x', 'y').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).retryAfter).toBe(900);
    setLang('zh');
    expect(errorText(e)).toContain('锁定');
    setFetch((async () => { throw new TypeError('offline'); }) as typeof fetch);
    expect(errorText(await api.campaigns().catch((err: unknown) => err))).toBe('无法连接服务器，请检查网络。');
    expect(errorText(new ApiError('something_new', 418, 'x'))).toBe('操作失败（418）：x');
  });
  it('records a tip and decides its reward with the CSRF token; reads the reporter without it', async () => {
    const seen: { method: string; url: string; csrf: string | null }[] = [];
    setFetch((async (url: RequestInfo | URL, init?: RequestInit) => {
      const h = (init?.headers ?? {}) as Record<string, string>;
      seen.push({ method: init?.method ?? 'GET', url: String(url), csrf: h['X-CSRF-Token'] ?? null });
      if (seen.length === 1) return answer(200, { user_name: '孙科长', role: 'officer', jurisdiction: '320413100000', csrf_token: 'tok', expires_at: '', idle_minutes: 60 });
      return answer(200, {});
    }) as typeof fetch);
    await login('孙科长', 'pw');
    await api.recordTip({ source: 'hotline_12350', content: 'x', received_on: '2026-12-07', deadline: '2026-12-10' });
    await api.tipDecision('t 1', { decision: 'none' });
    await api.tipReporter('t 1');
    await api.tips({ status: 'verified' });
    expect(seen.slice(1).map((s) => [s.method, s.url, s.csrf])).toEqual([
      ['POST', '/v1/tips', 'tok'],
      ['POST', '/v1/tips/t%201/decision', 'tok'],
      ['GET', '/v1/tips/t%201/reporter', null],
      ['GET', '/v1/tips?status=verified', null],
    ]);
  });
  it('builds query strings from defined values only', () => {
    expect(query({ a: 'x y', b: undefined, c: '', d: false, e: 2 })).toBe('?a=x+y&e=2');
    expect(query({})).toBe('');
  });
});

describe('audit', () => {
  it('opens to administrators and district officers only', () => {
    const s = (role: string, jurisdiction: string) => ({ user_name: 'u', role, jurisdiction });
    expect(canReadAudit(s('admin', '320413100000'))).toBe(true);
    expect(canReadAudit(s('officer', '320413000000'))).toBe(true);
    expect(canReadAudit(s('officer', '320413100000'))).toBe(false);
    expect(canReadAudit(s('grid_worker', '320413000000'))).toBe(false);
    expect(canReadAudit(s('expert', '320413000000'))).toBe(false);
  });
  it('labels actions in Chinese, unknown codes as they are', () => {
    setLang('zh');
    expect(actionLabel('login.failed')).toBe('登录失败');
    expect(actionLabel('export.hazards')).toBe('导出隐患台账');
    expect(actionLabel('something.new')).toBe('something.new');
  });
  it('shows targets and details readably', () => {
    expect(targetText({ target_kind: 'hazard', target_id: '0193a1b2-0000-7000-8000-000000000001' })).toBe('hazard 0193a1b2…');
    expect(targetText({ target_kind: 'user', target_id: 'zhao' })).toBe('user zhao');
    expect(targetText({ target_kind: null, target_id: null })).toBe('');
    expect(detailText('{}')).toBe('');
    expect(detailText('{"filter":{"overdue_only":true}}')).toContain('"overdue_only": true');
    expect(detailText('not json')).toBe('not json');
  });
  it('asks the server with the filters given', async () => {
    const asked: string[] = [];
    setFetch(async (url) => {
      asked.push(String(url));
      return new Response(JSON.stringify({ entries: [], next_after: null }), { status: 200 });
    });
    await api.audit({ actor: '赵', action: 'login.*', from: '2026-12-01', after: 40, limit: 100 });
    expect(asked[0]).toBe('/v1/audit?actor=%E8%B5%B5&action=login.*&from=2026-12-01&after=40&limit=100');
    expect(parseHash(href('audit', { action: 'login.*', to: '2026-12-07' })))
      .toEqual({ page: 'audit', params: { action: 'login.*', to: '2026-12-07' } });
  });
});
