// Campaign deadlines and days left, counted in China's calendar (UTC+8) whatever the
// phone's zone. The campaign itself comes from the server (docs/campaign.md), never
// from constants here.

import type { MessageKey } from './i18n';
import type { CampaignView } from './backend/types';

export interface CampaignDeadline {
  /** The duty's id in the campaign. */
  id: string;
  /** Duty number in the notice. */
  no: number;
  title: string;
  /** YYYY-MM-DD, the deadline at the user's level. */
  date: string;
}

/** The duties of a campaign that set a deadline at the user's level. */
export function campaignDeadlines(c: CampaignView): CampaignDeadline[] {
  return c.duties
    .filter((d) => d.deadline !== null)
    .map((d) => ({ id: d.id, no: d.no, title: d.title_zh, date: d.deadline as string }));
}

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
export function deadlineViews(today: string, list: CampaignDeadline[]): DeadlineView[] {
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
