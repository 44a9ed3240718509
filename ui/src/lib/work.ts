// An officer's work on the phone (docs/campaign.md "On the phone"): the user's open
// assignments (待办) for Home, and review states of inspections.

import type { AssignmentView, ReviewState, TemplateSummary } from './backend/types';
import type { MessageKey } from './i18n';
import { hazardDays } from './deadlines';

export interface TodoRow {
  id: string;
  enterprise_id: string;
  /** The enterprise's name, or its USCC when it is not on the phone. */
  enterprise: string;
  /** The template's title (newest version on the phone), else its id. */
  template: string;
  due: string;
  overdue: boolean;
  /** Days left (≥ 0) or days overdue. */
  days: number;
  note: string | null;
}

/** Open assignments, overdue and nearest due first, as Home lists them (待办). */
export function todoRows(list: AssignmentView[], templates: TemplateSummary[], today: string): TodoRow[] {
  const title = new Map<string, { version: number; title: string }>();
  for (const t of templates) {
    const had = title.get(t.id);
    if (!had || had.version < t.version) title.set(t.id, { version: t.version, title: t.title_zh });
  }
  return list
    .filter((a) => a.status === 'open')
    .map((a) => {
      const d = hazardDays(today, a.due);
      return { id: a.id, enterprise_id: a.enterprise_id, enterprise: a.enterprise_name ?? a.enterprise_uscc,
        template: title.get(a.template_id)?.title ?? a.template_id, due: a.due, overdue: d.overdue, days: d.n,
        note: a.note && a.note.trim() ? a.note.trim() : null };
    })
    .sort((x, y) => x.due.localeCompare(y.due) || x.id.localeCompare(y.id));
}

/** Label and badge tone of a review state. */
export function reviewBadge(state: ReviewState): { key: MessageKey; tone: 'ok' | 'warn' | 'bad' } {
  switch (state) {
    case 'approved': return { key: 'review_state.approved', tone: 'ok' };
    case 'has_issues': return { key: 'review_state.has_issues', tone: 'warn' };
    case 'rejected': return { key: 'review_state.rejected', tone: 'bad' };
  }
}
