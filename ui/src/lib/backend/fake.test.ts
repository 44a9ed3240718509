import { describe, expect, it } from 'vitest';
import { FakeBackend } from './fake';
import { needsPhoto } from '../checklist';

const img = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]);

describe('fake backend', () => {
  it('finds enterprises by pinyin initials, Chinese and USCC prefix', async () => {
    const b = new FakeBackend();
    const names = async (query: string) => (await b.searchEnterprises({ query, filters: {}, limit: 50 })).map((h) => h.name);
    expect(await names('jtxc')).toEqual(['常州市金坛鑫诚铝业有限公司', '常州市金坛新城纺织品有限公司']);
    expect((await b.searchEnterprises({ query: 'jtxc', filters: {}, limit: 1 }))[0].matched).toBe('pinyin');
    expect(await names('新城')).toEqual(['常州市金坛新城纺织品有限公司']);
    expect(await names('91320413MATT')).toEqual(['常州市金坛新城纺织品有限公司']);
    expect((await names('')).length).toBe(7);
    expect(await names('zzzz')).toEqual([]);
  });
  it('filters by 厂中厂, dust category, visits and hazards', async () => {
    const b = new FakeBackend();
    const ids = async (filters: object) => (await b.searchEnterprises({ query: '', filters, limit: 50 })).map((h) => h.name);
    expect(await ids({ leased: true })).toEqual(['常州市华宇喷涂有限公司', '常州市尧塘村塑业有限公司']);
    expect(await ids({ dust_category: 'wood_paper' })).toEqual(['江苏金坛嘉园木业有限公司']);
    expect(await ids({ not_visited: true })).not.toContain('江苏金坛嘉园木业有限公司');
    expect((await ids({ open_hazards: true })).length).toBe(3);
  });
  it('refuses unknown ids with typed errors', async () => {
    const b = new FakeBackend();
    await expect(b.getEnterprise({ key: 'nope' })).rejects.toMatchObject({ code: 'store.not_found' });
    await expect(b.getHazard({ hazard_id: 'nope' })).rejects.toMatchObject({ code: 'hazard.not_found' });
    await expect(new FakeBackend({ enrolled: false }).gridSummary()).rejects.toMatchObject({ code: 'app.not_enrolled' });
    await expect(new FakeBackend({ online: false, enrolled: false }).enroll({ server_url: 'https://x.cn', code: 'ABCD' })).rejects.toMatchObject({ code: 'network.offline' });
    await expect(new FakeBackend({ enrolled: false }).enroll({ server_url: 'x', code: 'ABCD' })).rejects.toMatchObject({ code: 'enroll.bad_url' });
  });
  it('runs an expert inspection to a major hazard and a queued sync record', async () => {
    const b = new FakeBackend();
    const al = (await b.searchEnterprises({ query: 'jtxc', filters: {}, limit: 1 }))[0];
    const { inspection_id: id } = await b.startInspection({ enterprise: al.id, template_id: 'expert-major-hazard', template_version: null });
    const items = await b.inspectionItems({ inspection_id: id });
    await expect(b.finalizeInspection({ inspection_id: id })).rejects.toMatchObject({ code: 'inspect.incomplete' });
    for (const it of items) {
      if (it.answer_type === 'yes_no_na') await b.answerItem({ inspection_id: id, item_id: it.id, value: it.id === 'MH-D-03' ? '是' : it.fail_when === 'yes' ? 'no' : 'yes', note: null });
      if (it.answer_type === 'photo') await b.attachPhoto({ inspection_id: id, item_id: it.id, bytes: img, device_time: '2024-03-01T10:00:00+08:00', stamp: null });
    }
    const e = await b.finalizeInspection({ inspection_id: id }).catch((x) => x);
    expect(e.code).toBe('inspect.incomplete');
    expect(e.missing.photo_missing).toEqual(['MH-D-03']);
    const r = await b.attachPhoto({ inspection_id: id, item_id: 'MH-D-03', bytes: img, device_time: '2024-03-01T10:00:00+08:00', stamp: null });
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await b.photoThumbnail({ sha256: r.sha256 })).thumbnail_jpeg_base64.length).toBeGreaterThan(10);
    await b.attachSignature({ inspection_id: id, signer: '王建国', png });
    const out = await b.finalizeInspection({ inspection_id: id });
    expect(out.hazards).toHaveLength(1);
    expect(out.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
    const detail = await b.getInspection({ inspection_id: id });
    expect(detail.findings.map((f) => [f.item_id, f.severity])).toEqual([['MH-D-03', 'major']]);
    const hz = await b.getHazard({ hazard_id: out.hazards[0] });
    expect(hz).toMatchObject({ severity: 'major', state: 'found', legal_basis: '10号令 第十一条(三)', overdue: false });
    await expect(b.answerItem({ inspection_id: id, item_id: 'MH-D-03', value: 'no', note: null })).rejects.toMatchObject({ code: 'inspect.already_finalized' });
    const s = await b.syncStatus();
    expect(s.records.find((x) => x.id === id)).toMatchObject({ state: 'queued', photos_total: 3 });
  });
  it('answers are parsed like the store: bad values are refused', async () => {
    const b = new FakeBackend({ role: 'grid_worker' });
    const { inspection_id: id } = await b.startInspection({ enterprise: '91320413MATTFLMPY7', template_id: 'grid-survey', template_version: null });
    await expect(b.answerItem({ inspection_id: id, item_id: 'SV-01', value: 'maybe', note: null })).rejects.toMatchObject({ code: 'inspect.bad_answer' });
    await expect(b.answerItem({ inspection_id: id, item_id: 'SV-13', value: 'x', note: null })).rejects.toMatchObject({ code: 'inspect.photo_item' });
    await expect(b.answerItem({ inspection_id: id, item_id: 'nope', value: 'yes', note: null })).rejects.toMatchObject({ code: 'inspect.unknown_item' });
    expect((await b.answerItem({ inspection_id: id, item_id: 'SV-03', value: '12人', note: '两班' })).answer).toEqual({ value: { type: 'number', value: 12 }, note: '两班' });
    expect((await b.answerItem({ inspection_id: id, item_id: 'SV-01', value: '不适用', note: null })).answer?.value).toEqual({ type: 'yes_no_na', value: 'na' });
  });
  it('a survey shows what the register knows and asks for evidence of what it claims', async () => {
    const b = new FakeBackend({ role: 'grid_worker' });
    const { inspection_id: id } = await b.startInspection({ enterprise: '91320413MA1XK7LQ3R', template_id: 'grid-survey', template_version: null });
    const items = await b.inspectionItems({ inspection_id: id });
    const by = (i: string) => items.find((x) => x.id === i)!;
    expect(by('SV-05').known).toMatchObject({ value: 'yes', label_zh: '已明确：王建国' });
    expect(by('SV-07').known?.value).toBe('13800000001');
    expect(by('SV-08').known).toMatchObject({ value: 'not_filed', label_zh: '未填报' });
    expect(by('SV-09').known?.value).toBe('yes');
    expect(by('SV-01').known).toBeUndefined();
    const filed = await b.answerItem({ inspection_id: id, item_id: 'SV-08', value: 'filed', note: null });
    expect(needsPhoto({ ...filed, photos: [] })).toBe(true);
    const notFiled = await b.answerItem({ inspection_id: id, item_id: 'SV-08', value: 'not_filed', note: null });
    expect(needsPhoto({ ...notFiled, photos: [] })).toBe(false);
  });
  it('re-inspection with photos, and sync offline then online', async () => {
    const b = new FakeBackend({ online: false });
    const [open] = await b.listHazards({ enterprise_id: null, open_only: true });
    expect(open.overdue).toBe(true);
    const before = await b.addPhoto({ enterprise_id: open.enterprise_id, bytes: img, device_time: 'x', stamp: null });
    const after = await b.addPhoto({ enterprise_id: open.enterprise_id, bytes: new Uint8Array([9, 9]), device_time: 'x', stamp: null });
    const d = await b.reinspectHazard({ hazard_id: open.id, passed: true, before_photo_sha256s: [before.sha256], after_photo_sha256s: [after.sha256], note: '已清扫' });
    expect(d.state).toBe('reinspected');
    expect(d.overdue).toBe(false);
    expect(d.events.at(-1)).toMatchObject({ kind: 'reinspected', passed: true });
    await expect(b.reinspectHazard({ hazard_id: open.id, passed: true, before_photo_sha256s: [], after_photo_sha256s: [], note: null })).rejects.toMatchObject({ code: 'hazard.illegal_transition' });
    let s = await b.syncNow();
    expect(s.records.filter((r) => r.state === 'failed').every((r) => r.error?.code === 'network.offline')).toBe(true);
    b.online = true;
    s = await b.syncNow();
    expect(s.records.every((r) => r.state === 'complete')).toBe(true);
    expect(s.last_success_at).not.toBeNull();
  });
  it('keeps settings', async () => {
    const b = new FakeBackend();
    expect(await b.setSettings({ wifi_only_photos: false, language: 'en' })).toEqual({ wifi_only_photos: false, language: 'en' });
    expect(await b.getSettings()).toEqual({ wifi_only_photos: false, language: 'en' });
  });
  it('serves the user\'s assignments, open ones by due date, and fulfils them after a sync like the server', async () => {
    const b = new FakeBackend({ now: () => new Date('2024-03-01T02:00:00Z') });
    const open = await b.listAssignments({ all: false });
    expect(open.map((a) => [a.enterprise_name, a.due, a.overdue])).toEqual([
      ['常州市金坛新城纺织品有限公司', '2024-02-28', true],
      ['常州市金坛鑫诚铝业有限公司', '2024-03-07', false],
    ]);
    expect((await b.listAssignments({ all: true })).map((a) => a.status)).toEqual(['open', 'open', 'fulfilled']);
    // The expert's major-hazard inspection of the aluminium polisher fulfils the second.
    const id = (await b.startInspection({ enterprise: open[1].enterprise_id, template_id: 'expert-major-hazard', template_version: null })).inspection_id;
    b.inspections.get(id)!.detail.status = 'finalized';
    await b.syncNow();
    expect((await b.listAssignments({ all: false })).map((a) => a.enterprise_name)).toEqual(['常州市金坛新城纺织品有限公司']);
    await expect(new FakeBackend({ enrolled: false }).listAssignments({ all: false })).rejects.toMatchObject({ code: 'app.not_enrolled' });
  });
  it('carries an officer\'s review in the inspection and its history row', async () => {
    const b = new FakeBackend();
    const wood = (await b.searchEnterprises({ query: '嘉园', filters: {}, limit: 1 }))[0];
    const [row] = await b.listInspections({ enterprise_id: wood.id });
    expect(row.review_state).toBe('has_issues');
    expect((await b.getInspection({ inspection_id: row.id })).review).toMatchObject({ state: 'has_issues', reviewer: '王科长' });
    expect(await b.getReview({ inspection_id: row.id })).toMatchObject({ state: 'has_issues' });
    await expect(b.getReview({ inspection_id: 'nope' })).rejects.toMatchObject({ code: 'inspect.not_found' });
  });
  it('sets and revises 五定 like the store: not later than the deadline, nothing blank', async () => {
    const b = new FakeBackend();
    const [h] = (await b.listHazards({ enterprise_id: null, open_only: true })).filter((x) => !x.overdue);
    const plan = { hazard_id: h.id, measures: '设置安全警示标志', responsible: '陈厂长', funds_yuan: 800, deadline: h.deadline, interim_measures: '现场专人看护' };
    await expect(b.setHazardPlan({ ...plan, deadline: '2999-01-01' })).rejects.toMatchObject({ code: 'hazard.plan_deadline_later' });
    await expect(b.setHazardPlan({ ...plan, responsible: ' ' })).rejects.toMatchObject({ code: 'hazard.plan_incomplete' });
    await expect(b.setHazardPlan({ ...plan, deadline: '3月1日' })).rejects.toMatchObject({ code: 'hazard.bad_date' });
    const queued = (await b.syncStatus()).records.length;
    const d = await b.setHazardPlan(plan);
    expect(d.detail.plan).toEqual({ measures: '设置安全警示标志', responsible: '陈厂长', funds_yuan: 800, deadline: h.deadline, interim_measures: '现场专人看护' });
    expect(d.events.at(-1)).toMatchObject({ kind: 'plan_set', actor: '张专家', skipped_reason: null });
    expect((await b.syncStatus()).records.length).toBe(queued + 1);
    expect((await b.getHazard({ hazard_id: h.id })).detail.plan?.responsible).toBe('陈厂长');
  });
  it('shows a hazard whose conflicting event from another phone was skipped', async () => {
    const b = new FakeBackend();
    const [wood] = (await b.listHazards({ enterprise_id: null, open_only: true })).filter((x) => x.item_id === 'MH-D-10');
    const d = await b.getHazard({ hazard_id: wood.id });
    expect(d.state).toBe('rectifying');
    expect(d.events.filter((e) => e.skipped_reason).map((e) => e.kind)).toEqual(['closed']);
  });
});
