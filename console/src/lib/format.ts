// Dates and countdowns as officers read them: China dates (UTC+8), whole days.
import { t } from './i18n';

/** Today's date in China (UTC+8) as YYYY-MM-DD. */
export function chinaToday(now: Date = new Date()): string {
  return new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}

/** Whole days from `today` to `date` (both YYYY-MM-DD); negative when past. */
export function daysUntil(date: string, today: string): number {
  const a = Date.parse(`${today}T00:00:00Z`);
  const b = Date.parse(`${date}T00:00:00Z`);
  return Math.round((b - a) / 86_400_000);
}

/** "剩 5 天", "今天到期", "逾期 3 天". */
export function countdown(date: string, today: string): string {
  const d = daysUntil(date, today);
  if (d > 0) return t('common.days_left', { n: d });
  if (d === 0) return t('common.today_due');
  return t('common.days_over', { n: -d });
}

/** An RFC 3339 instant as China local time, `YYYY-MM-DD HH:MM`. */
export function chinaTime(instant: string | null | undefined): string {
  if (!instant) return '';
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return instant;
  return new Date(ms + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/** Done share in percent (0 when nothing applies). */
export function percent(done: number, of: number): number {
  return of > 0 ? Math.round((done * 1000) / of) / 10 : 0;
}
