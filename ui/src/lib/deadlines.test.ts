import { describe, expect, it } from 'vitest';
import { campaignDeadlines, chinaToday, daysBetween, daysLeftLabel, deadlineViews, hazardDays } from './deadlines';
import { FAKE_CAMPAIGN } from './backend/fake-campaign';

const NOTICE = campaignDeadlines(FAKE_CAMPAIGN);

describe('campaign deadlines', () => {
  it('today is the China date, whatever the UTC hour', () => {
    expect(chinaToday(new Date('2024-02-08T15:59:00Z'))).toBe('2024-02-08');
    expect(chinaToday(new Date('2024-02-08T16:00:00Z'))).toBe('2024-02-09');
  });
  it('counts whole days across months and leap day', () => {
    expect(daysBetween('2024-01-26', '2024-02-09')).toBe(14);
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
    expect(daysBetween('2024-05-01', '2024-04-30')).toBe(-1);
  });
  it('lists a pulled campaign\'s deadlines: upcoming nearest first, then past', () => {
    const v = deadlineViews('2024-03-01', NOTICE);
    expect(v[0]).toMatchObject({ id: 'risk-report', daysLeft: 30, state: 'upcoming' });
    expect(v.at(-1)!.state).toBe('past');
    expect(v.filter((x) => x.state === 'past').map((x) => x.date)).toEqual(['2024-02-09', '2024-02-09', '2024-02-09', '2024-02-09']);
    // Duty 2 (厂中厂) has two milestones: known by May, rectified by December.
    expect(NOTICE.map((d) => d.no).sort()).toEqual([1, 2, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('leaves out duties without a deadline at the user\'s level', () => {
    const c = { ...FAKE_CAMPAIGN, duties: FAKE_CAMPAIGN.duties.map((d, i) => (i === 0 ? { ...d, deadline: null } : d)) };
    expect(campaignDeadlines(c).map((d) => d.id)).not.toContain('census');
    expect(campaignDeadlines(c)).toHaveLength(FAKE_CAMPAIGN.duties.length - 1);
  });
  it('labels days left, due today and days past', () => {
    expect(daysLeftLabel({ daysLeft: 3 })).toEqual({ key: 'home.days_left', n: 3 });
    expect(daysLeftLabel({ daysLeft: 0 })).toEqual({ key: 'home.due_today', n: 0 });
    expect(daysLeftLabel({ daysLeft: -4 })).toEqual({ key: 'home.days_over', n: 4 });
    expect(deadlineViews('2024-04-30', NOTICE).find((d) => d.id === 'joint-enforcement')!.state).toBe('today');
  });
  it('hazard deadlines say overdue days', () => {
    expect(hazardDays('2024-06-10', '2024-06-01')).toEqual({ overdue: true, n: 9 });
    expect(hazardDays('2024-06-01', '2024-06-10')).toEqual({ overdue: false, n: 9 });
  });
});
