// The campaign deadlines of 常安办〔2024〕6号 (shared/mission/campaign-notice-zh.txt)
// and days left, counted in China's calendar (UTC+8) whatever the phone's zone.

import type { MessageKey } from './i18n';

export interface CampaignDeadline {
  /** Duty number in the notice (一 … 八). */
  duty: number;
  key: MessageKey;
  /** YYYY-MM-DD, the notice's 完成时限 for towns and villages. */
  date: string;
}

export const CAMPAIGN_YEAR = 2024;

export const CAMPAIGN_DEADLINES: CampaignDeadline[] = [
  { duty: 1, key: 'deadline.d1', date: '2024-02-09' },
  { duty: 4, key: 'deadline.d4', date: '2024-02-09' },
  { duty: 5, key: 'deadline.d5', date: '2024-02-09' },
  { duty: 8, key: 'deadline.d8', date: '2024-02-09' },
  { duty: 3, key: 'deadline.d3', date: '2024-03-31' },
  { duty: 6, key: 'deadline.d6', date: '2024-04-30' },
  { duty: 7, key: 'deadline.d7', date: '2024-04-30' },
  { duty: 2, key: 'deadline.d2a', date: '2024-05-31' },
  { duty: 2, key: 'deadline.d2b', date: '2024-12-31' },
];

/** Today's date in China (UTC+8) as YYYY-MM-DD. */
export function chinaToday(now: Date = new Date()): string {
  const d = new Date(now.getTime() + 8 * 3600_000);
  return d.toISOString().slice(0, 10);
}

function dayNumber(ymd: string): number {
  const [y, m, d] = ymd.split('-').map(Number);
  return Math.round(Date.UTC(y, m - 1, d) / 86_400_000);
}

/** Whole days from `today` to `date` (negative once past). */
export function daysBetween(today: string, date: string): number {
  return dayNumber(date) - dayNumber(today);
}

export interface DeadlineView extends CampaignDeadline {
  daysLeft: number;
  state: 'upcoming' | 'today' | 'past';
}

/** Upcoming deadlines first (nearest first), then past ones (most recent first). */
export function deadlineViews(today: string, list: CampaignDeadline[] = CAMPAIGN_DEADLINES): DeadlineView[] {
  const views = list.map((d) => {
    const daysLeft = daysBetween(today, d.date);
    const state: DeadlineView['state'] = daysLeft > 0 ? 'upcoming' : daysLeft === 0 ? 'today' : 'past';
    return { ...d, daysLeft, state };
  });
  const open = views.filter((v) => v.state !== 'past').sort((a, b) => a.daysLeft - b.daysLeft);
  const past = views.filter((v) => v.state === 'past').sort((a, b) => b.daysLeft - a.daysLeft);
  return [...open, ...past];
}

/** Message key and params for a deadline's "days left" label. */
export function daysLeftLabel(v: { daysLeft: number }): { key: MessageKey; n: number } {
  if (v.daysLeft > 0) return { key: 'home.days_left', n: v.daysLeft };
  if (v.daysLeft === 0) return { key: 'home.due_today', n: 0 };
  return { key: 'home.days_over', n: -v.daysLeft };
}

/** Hazard deadline: days left (≥0) or overdue days, from the China date. */
export function hazardDays(today: string, deadline: string): { overdue: boolean; n: number } {
  const d = daysBetween(today, deadline);
  return d < 0 ? { overdue: true, n: -d } : { overdue: false, n: d };
}
