// How sync state reads on screen.
import type { RecordState, SyncStatus } from './backend/types';

export interface SyncSummary {
  pending: number;
  failed: number;
  done: number;
  photosLeft: number;
}

export function summarize(s: SyncStatus): SyncSummary {
  let pending = 0, failed = 0, done = 0, photosLeft = 0;
  for (const r of s.records) {
    if (r.state === 'complete') done++;
    else if (r.state === 'failed' || r.state === 'rejected') failed++;
    else pending++;
    photosLeft += Math.max(0, r.photos_total - r.photos_done);
  }
  return { pending, failed, done, photosLeft };
}

/** Colour class of a record state. */
export function tone(state: RecordState): 'ok' | 'warn' | 'bad' | 'busy' {
  switch (state) {
    case 'complete': return 'ok';
    case 'accepted': case 'queued': return 'warn';
    case 'sending': return 'busy';
    default: return 'bad';
  }
}

/** Failed and rejected first, then sending, queued, accepted, complete; newest first within. */
export function sortRecords<T extends { state: RecordState; updated_at: string }>(records: T[]): T[] {
  const rank: Record<RecordState, number> = { failed: 0, rejected: 1, sending: 2, queued: 3, accepted: 4, complete: 5 };
  return [...records].sort((a, b) => rank[a.state] - rank[b.state] || b.updated_at.localeCompare(a.updated_at));
}

/** Relative time as message key + n. */
export function ago(iso: string, now: Date = new Date()): { key: 'time.just_now' | 'time.minutes_ago' | 'time.hours_ago' | 'time.days_ago'; n: number } {
  const s = Math.max(0, (now.getTime() - new Date(iso).getTime()) / 1000);
  if (s < 60) return { key: 'time.just_now', n: 0 };
  if (s < 3600) return { key: 'time.minutes_ago', n: Math.floor(s / 60) };
  if (s < 86400) return { key: 'time.hours_ago', n: Math.floor(s / 3600) };
  return { key: 'time.days_ago', n: Math.floor(s / 86400) };
}
