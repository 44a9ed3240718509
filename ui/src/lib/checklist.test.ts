import { describe, expect, it } from 'vitest';
import { answerLabel, canFinalize, firstOpenIndex, isAnswered, isFailed, missing, needsPhoto, offerTemplates, progress, rawAnswer, review, toggleChoice } from './checklist';
import type { EnterpriseDetail, ItemView, TemplateSummary } from './backend/types';

const yn = (id: string, fail_when: 'yes' | 'no' | 'never', extra: Partial<ItemView> = {}): ItemView => ({
  id, section_id: 's', text: id, answer_type: 'yes_no_na', choices: [], multiple: false, required: true,
  photo_required_on_fail: false, major_hazard: false, fail_when, ...extra,
});
const ans = (v: 'yes' | 'no' | 'na') => ({ value: { type: 'yes_no_na' as const, value: v } });

describe('checklist logic', () => {
  const items: ItemView[] = [
    yn('MH-D-03', 'yes', { major_hazard: true, photo_required_on_fail: true, answer: ans('yes') }),
    yn('R6-05', 'no', { answer: ans('no'), legal_basis: '6号令 第九条' }),
    yn('R6-19', 'no', { answer: ans('yes') }),
    yn('SV-01', 'never', { answer: ans('yes') }),
    yn('R6-04', 'no', { answer: ans('na') }),
    yn('R6-21', 'no'),
    { ...yn('MH-PHOTO', 'never'), answer_type: 'photo', fail_when: undefined, required: true },
    { ...yn('MH-CONCL', 'never'), answer_type: 'text', fail_when: undefined, required: false },
  ];

  it('failed means the failing yes/no answer; facts never fail', () => {
    expect(items.map(isFailed)).toEqual([true, true, false, false, false, false, false, false]);
  });
  it('a failed photo-required item needs a photo until one is attached', () => {
    expect(needsPhoto(items[0])).toBe(true);
    expect(needsPhoto({ ...items[0], photos: ['ab'.repeat(32)] })).toBe(false);
  });
  it('photo items count as answered only with a photo', () => {
    expect(isAnswered(items[6])).toBe(false);
    expect(isAnswered({ ...items[6], photos: ['cd'.repeat(32)] })).toBe(true);
  });
  it('progress and what is missing follow evaluate()', () => {
    expect(progress(items)).toMatchObject({ answered: 5, total: 8, requiredLeft: 2, photosLeft: 1 });
    const m = missing(items);
    expect(m.unanswered.map((i) => i.id)).toEqual(['R6-21', 'MH-PHOTO']);
    expect(m.photo_missing.map((i) => i.id)).toEqual(['MH-D-03']);
    expect(canFinalize(items)).toBe(false);
    expect(firstOpenIndex(items)).toBe(0);
  });
  it('review groups major findings first and counts passes and N/A', () => {
    const r = review(items);
    expect(r.major.map((f) => f.item.id)).toEqual(['MH-D-03']);
    expect(r.general.map((f) => f.item.id)).toEqual(['R6-05']);
    expect(r.passed).toBe(1);
    expect(r.notApplicable).toBe(1);
  });
  it('formats raw answers and labels', () => {
    const choice: ItemView = { ...yn('SV-04', 'never'), answer_type: 'choice', multiple: true, fail_when: undefined,
      choices: [{ value: 'a', label_zh: '粉碎' }, { value: 'b', label_zh: '研磨' }, { value: 'c', label_zh: '砂光' }] };
    expect(toggleChoice(choice, ['c'], 'a')).toEqual(['a', 'c']);
    expect(toggleChoice(choice, ['a', 'c'], 'a')).toEqual(['c']);
    expect(toggleChoice({ ...choice, multiple: false }, ['a'], 'b')).toEqual(['b']);
    expect(rawAnswer(choice, ['a', 'c'])).toBe('a,c');
    expect(rawAnswer(items[0], 'yes')).toBe('yes');
    const labels = { yes: '是', no: '否', na: '不适用' };
    expect(answerLabel({ ...choice, answer: { value: { type: 'choice', value: ['a', 'c'] } } }, labels)).toBe('粉碎、砂光');
    expect(answerLabel({ ...yn('n', 'never'), answer_type: 'number', unit: '人', answer: { value: { type: 'number', value: 12 } } }, labels)).toBe('12 人');
  });
  it('offers templates by role and facts', () => {
    const tpl = (id: string, role: TemplateSummary['role'], kind: TemplateSummary['kind'], version = 1): TemplateSummary =>
      ({ id, role, kind, version, title_zh: id, items: 1, source: 'builtin', used: false });
    const list = [tpl('grid-survey', 'grid_worker', 'survey'), tpl('dust-verification', 'expert', 'dust_verification'),
      tpl('expert-major-hazard', 'expert', 'major_hazard'), tpl('expert-major-hazard', 'expert', 'major_hazard', 2),
      tpl('pre-lease-check', 'officer', 'pre_lease'), tpl('hazard-reinspection', 'officer', 'reinspection'),
      tpl('supervision-spot-check', 'supervisor', 'spot_check')];
    const e = { dust_involved: true, leases_as_tenant: [], sites_as_landlord: [] } as unknown as EnterpriseDetail;
    expect(offerTemplates(list, 'grid_worker', e).map((t) => t.id)).toEqual(['grid-survey']);
    // Experts visit with the supervision groups and run pre-lease checks for the officers.
    const expert = offerTemplates(list, 'expert', e);
    expect(expert.map((t) => t.id)).toEqual(['dust-verification', 'expert-major-hazard', 'supervision-spot-check']);
    expect(expert[1].version).toBe(2);
    expect(offerTemplates(list, 'expert', { ...e, dust_involved: false }).map((t) => t.id))
      .toEqual(['dust-verification', 'supervision-spot-check']);
    expect(offerTemplates(list, 'officer', e).map((t) => t.id)).not.toContain('pre-lease-check');
    const leased = { ...e, leases_as_tenant: [{}] } as unknown as EnterpriseDetail;
    expect(offerTemplates(list, 'officer', leased).map((t) => t.id)).toContain('pre-lease-check');
    expect(offerTemplates(list, 'expert', leased).map((t) => t.id)).toContain('pre-lease-check');
    expect(offerTemplates(list, 'grid_worker', leased).map((t) => t.id)).not.toContain('pre-lease-check');
    expect(offerTemplates(list, 'officer', leased).map((t) => t.id)).not.toContain('hazard-reinspection');
  });
  it('offers first, whatever its role, the template an open assignment names for the enterprise', () => {
    const tpl = (id: string, role: TemplateSummary['role'], kind: TemplateSummary['kind']): TemplateSummary =>
      ({ id, role, kind, version: 1, title_zh: id, items: 1, source: 'builtin', used: false });
    const e = { dust_involved: false, leases_as_tenant: [], sites_as_landlord: [] } as unknown as EnterpriseDetail;
    const list = [tpl('grid-survey', 'grid_worker', 'survey'), tpl('dust-verification', 'expert', 'dust_verification'),
      tpl('tip-verification', 'grid_worker', 'spot_check'), tpl('hazard-reinspection', 'officer', 'reinspection')];
    expect(offerTemplates(list, 'expert', e).map((t) => t.id)).not.toContain('tip-verification');
    const ids = offerTemplates(list, 'expert', e, new Set(['tip-verification'])).map((t) => t.id);
    expect(ids[0]).toBe('tip-verification');
    expect(ids).toContain('dust-verification');
    expect(offerTemplates(list, 'expert', e, new Set(['hazard-reinspection'])).map((t) => t.id)).not.toContain('hazard-reinspection');
  });
});
