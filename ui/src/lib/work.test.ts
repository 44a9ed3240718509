import { describe, expect, it } from 'vitest';
import { reviewBadge, todoRows } from './work';
import { checkPlan, planForm, type PlanForm } from './hazards';
import { t } from './i18n';
import type { AssignmentView, TemplateSummary } from './backend/types';

const tpl = (id: string, version: number, title_zh: string): TemplateSummary =>
  ({ id, version, title_zh, role: 'expert', kind: 'major_hazard', items: 1, source: 'builtin', used: false });

const task = (id: string, due: string, over: Partial<AssignmentView> = {}): AssignmentView => ({
  id, enterprise_id: `e-${id}`, enterprise_uscc: `USCC-${id}`, division_code: '320413104206', assignee: '张专家',
  template_id: 'expert-major-hazard', due, note: null, status: 'open', assigned_by: '王科长', created_at: '', updated_at: '',
  fulfilled_by: null, sample_id: null, overdue: false, enterprise_name: `企业${id}`, ...over });

describe('待办 (assignments on Home)', () => {
  const templates = [tpl('expert-major-hazard', 1, '旧标题'), tpl('expert-major-hazard', 2, '粉尘涉爆重大事故隐患排查'), tpl('grid-survey', 1, '网格排查')];
  it('lists open ones only, nearest due first, with days overdue or left on the China date', () => {
    const rows = todoRows([
      task('b', '2024-03-10'),
      task('a', '2024-02-27', { note: '  复核泄爆片 ' }),
      task('c', '2024-03-01', { status: 'fulfilled' }),
      task('d', '2024-02-29', { status: 'cancelled' }),
    ], templates, '2024-03-01');
    expect(rows.map((r) => r.id)).toEqual(['a', 'b']);
    expect(rows[0]).toMatchObject({ overdue: true, days: 3, note: '复核泄爆片', enterprise: '企业a' });
    expect(rows[1]).toMatchObject({ overdue: false, days: 9, note: null });
  });
  it('due today is not overdue', () => {
    expect(todoRows([task('a', '2024-03-01')], templates, '2024-03-01')[0]).toMatchObject({ overdue: false, days: 0 });
  });
  it('names the newest template version, and falls back to ids the phone does not hold', () => {
    const [r] = todoRows([task('a', '2024-03-05')], templates, '2024-03-01');
    expect(r.template).toBe('粉尘涉爆重大事故隐患排查');
    const [x] = todoRows([task('x', '2024-03-05', { template_id: 'new-template', enterprise_name: null })], templates, '2024-03-01');
    expect(x).toMatchObject({ template: 'new-template', enterprise: 'USCC-x' });
  });
  it('review states read 已通过 / 有问题 / 已驳回 with their tones', () => {
    expect(['approved', 'has_issues', 'rejected'].map((s) => {
      const b = reviewBadge(s as 'approved');
      return [t(b.key, undefined, 'zh'), b.tone];
    })).toEqual([['已通过', 'ok'], ['有问题', 'warn'], ['已驳回', 'bad']]);
  });
});

describe('五定 form', () => {
  const ok: PlanForm = { measures: ' 加装泄爆片 ', responsible: '王建国', funds: '48,000', deadline: '2024-03-20', interim: '停用3号除尘器' };
  it('sends trimmed texts and whole yuan, or null funds', () => {
    expect(checkPlan(ok, '2024-03-31')).toEqual({ ok: true, plan: { measures: '加装泄爆片', responsible: '王建国', funds_yuan: 48000,
      deadline: '2024-03-20', interim_measures: '停用3号除尘器' } });
    const r = checkPlan({ ...ok, funds: '' }, '2024-03-31');
    expect(r.ok && r.plan.funds_yuan).toBeNull();
  });
  it('refuses a deadline later than the hazard\'s, saying an officer extends it', () => {
    const r = checkPlan({ ...ok, deadline: '2024-04-01' }, '2024-03-31');
    expect(r).toEqual({ ok: false, key: 'plan.deadline_later', params: { date: '2024-03-31' } });
    if (!r.ok) expect(t(r.key, r.params, 'zh')).toBe('整改时限不能晚于当前整改期限 2024-03-31。如需延期，须由区级监管人员办理延期。');
    expect(checkPlan({ ...ok, deadline: '2024-03-31' }, '2024-03-31').ok).toBe(true);
  });
  it('names what is missing or malformed', () => {
    const key = (f: Partial<PlanForm>) => { const r = checkPlan({ ...ok, ...f }, '2024-03-31'); return r.ok ? null : r.key; };
    expect(key({ measures: '  ' })).toBe('plan.need_measures');
    expect(key({ responsible: '' })).toBe('plan.need_responsible');
    expect(key({ interim: ' ' })).toBe('plan.need_interim');
    expect(key({ funds: '4.8万' })).toBe('plan.bad_funds');
    expect(key({ funds: '-5' })).toBe('plan.bad_funds');
    expect(key({ deadline: '' })).toBe('plan.bad_deadline');
    expect(key({ deadline: '2024-02-30' })).toBe('plan.bad_deadline');
  });
  it('is filled from the current plan, or starts at the hazard\'s deadline', () => {
    expect(planForm(null, '2024-03-31')).toEqual({ measures: '', responsible: '', funds: '', deadline: '2024-03-31', interim: '' });
    expect(planForm({ measures: 'm', responsible: 'r', funds_yuan: null, deadline: '2024-03-20', interim_measures: 'i' }, '2024-03-31'))
      .toEqual({ measures: 'm', responsible: 'r', funds: '', deadline: '2024-03-20', interim: 'i' });
  });
});
