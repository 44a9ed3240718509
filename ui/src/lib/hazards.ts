// Hazard list filters, the re-inspection form's rules and the 五定 form's.
import type { HazardSummary, RectificationPlan } from './backend/types';
import type { MessageKey } from './i18n';

export type HazardFilter = 'open' | 'overdue' | 'major' | 'all';

const OPEN = new Set(['found', 'assigned', 'rectifying']);

export function isOpen(h: Pick<HazardSummary, 'state'>): boolean {
  return OPEN.has(h.state);
}

/** Overdue first, then by deadline. */
export function filterHazards(list: HazardSummary[], f: HazardFilter): HazardSummary[] {
  const keep = list.filter((h) => f === 'all' || (f === 'open' && isOpen(h)) || (f === 'overdue' && h.overdue) || (f === 'major' && h.severity === 'major' && isOpen(h)));
  return keep.sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.deadline.localeCompare(b.deadline));
}

/** A re-inspection can be recorded on an open hazard; passing it needs an "after" photo. */
export function canReinspect(h: Pick<HazardSummary, 'state'>, passed: boolean, afterPhotos: number): boolean {
  return isOpen(h) && (!passed || afterPhotos > 0);
}

/** The 五定 form as typed: every field a string. */
export interface PlanForm {
  /** 整改措施. */
  measures: string;
  /** 责任人. */
  responsible: string;
  /** 整改资金 in whole yuan; empty when not yet budgeted. */
  funds: string;
  /** 整改时限, YYYY-MM-DD. */
  deadline: string;
  /** 应急预案. */
  interim: string;
}

/** The form filled from the current plan, or empty with the hazard's deadline. */
export function planForm(plan: RectificationPlan | null, deadline: string): PlanForm {
  return plan
    ? { measures: plan.measures, responsible: plan.responsible, funds: plan.funds_yuan === null ? '' : String(plan.funds_yuan),
        deadline: plan.deadline, interim: plan.interim_measures }
    : { measures: '', responsible: '', funds: '', deadline, interim: '' };
}

export type PlanCheck =
  | { ok: true; plan: RectificationPlan }
  | { ok: false; key: MessageKey; params?: Record<string, string | number> };

function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const [y, m, d] = s.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** The store's rules for a 五定 plan, checked before sending so the worker reads why in
 * Chinese: measures, responsible and interim measures not blank; funds whole yuan (or
 * empty); the deadline a date not later than the hazard's current one (only an officer
 * extends a deadline). */
export function checkPlan(f: PlanForm, currentDeadline: string): PlanCheck {
  const measures = f.measures.trim();
  const responsible = f.responsible.trim();
  const interim = f.interim.trim();
  if (!measures) return { ok: false, key: 'plan.need_measures' };
  if (!responsible) return { ok: false, key: 'plan.need_responsible' };
  const funds = f.funds.replace(/[\s,，]/g, '');
  if (funds && !/^\d{1,12}$/.test(funds)) return { ok: false, key: 'plan.bad_funds' };
  const deadline = f.deadline.trim();
  if (!isDate(deadline)) return { ok: false, key: 'plan.bad_deadline' };
  if (deadline > currentDeadline) return { ok: false, key: 'plan.deadline_later', params: { date: currentDeadline } };
  if (!interim) return { ok: false, key: 'plan.need_interim' };
  return { ok: true, plan: { measures, responsible, funds_yuan: funds ? Number(funds) : null, deadline, interim_measures: interim } };
}
