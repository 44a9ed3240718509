// Checklist runner logic: what is answered, what fails, what is missing before
// finalize (the same rules as gridwalk-checklist's `evaluate`), progress, the review
// of findings, and which templates to offer on an enterprise page.

import type { EnterpriseDetail, ItemView, Role, Severity, TemplateSummary, YesNoNa } from './backend/types';

/** Every photo of an item: attached ones, a photo item's value, the answer's evidence (no repeats). */
export function photosOf(item: ItemView): string[] {
  const a = item.answer;
  const fromValue = a && a.value.type === 'photos' ? a.value.value : [];
  return [...new Set([...(item.photos ?? []), ...fromValue, ...(a?.photo_sha256s ?? [])])];
}

/** Answered as `evaluate` counts it: a photo item needs at least one photo. */
export function isAnswered(item: ItemView): boolean {
  if (item.answer_type === 'photo') return photosOf(item).length > 0;
  return item.answer !== undefined && item.answer !== null;
}

export function yesNo(item: ItemView): YesNoNa | null {
  const v = item.answer?.value;
  return v && v.type === 'yes_no_na' ? v.value : null;
}

/** A yes/no item answered with its failing answer. */
export function isFailed(item: ItemView): boolean {
  const v = yesNo(item);
  return v !== null && (item.fail_when === 'yes' || item.fail_when === 'no') && v === item.fail_when;
}

/** Whether the current answer is one that must carry a photo as evidence. */
export function needsEvidence(item: ItemView): boolean {
  const want = item.photo_required_when ?? [];
  const v = item.answer?.value;
  if (!v || want.length === 0) return false;
  if (v.type === 'yes_no_na') return want.includes(v.value);
  if (v.type === 'choice') return v.value.some((c) => want.includes(c));
  return false;
}

/** Needs a photo (failed on a photo-on-fail item, or an answer that needs evidence) and has none. */
export function needsPhoto(item: ItemView): boolean {
  return ((isFailed(item) && item.photo_required_on_fail) || needsEvidence(item)) && photosOf(item).length === 0;
}

export interface Progress {
  answered: number;
  total: number;
  requiredLeft: number;
  photosLeft: number;
  /** 0..100, by answered items. */
  percent: number;
}

export function progress(items: ItemView[]): Progress {
  const answered = items.filter(isAnswered).length;
  const requiredLeft = items.filter((i) => i.required && !isAnswered(i)).length;
  const photosLeft = items.filter(needsPhoto).length;
  const total = items.length;
  return { answered, total, requiredLeft, photosLeft, percent: total === 0 ? 100 : Math.round((100 * answered) / total) };
}

export interface MissingView {
  unanswered: ItemView[];
  photo_missing: ItemView[];
}

/** What stops finalize, in template order (the store checks the same again). */
export function missing(items: ItemView[]): MissingView {
  return {
    unanswered: items.filter((i) => i.required && !isAnswered(i)),
    photo_missing: items.filter(needsPhoto),
  };
}

export function canFinalize(items: ItemView[]): boolean {
  const m = missing(items);
  return m.unanswered.length === 0 && m.photo_missing.length === 0;
}

export interface ReviewFinding {
  item: ItemView;
  severity: Severity;
  note: string | null;
  photos: string[];
}

export interface Review {
  major: ReviewFinding[];
  general: ReviewFinding[];
  passed: number;
  notApplicable: number;
}

/** Findings grouped for the review screen: 重大 first, each in template order. */
export function review(items: ItemView[]): Review {
  const major: ReviewFinding[] = [];
  const general: ReviewFinding[] = [];
  let passed = 0;
  let notApplicable = 0;
  for (const item of items) {
    const v = yesNo(item);
    const scored = item.fail_when === 'yes' || item.fail_when === 'no';
    if (!scored || v === null) continue;
    if (v === 'na') { notApplicable++; continue; }
    if (!isFailed(item)) { passed++; continue; }
    const f: ReviewFinding = { item, severity: item.major_hazard ? 'major' : 'general', note: item.answer?.note ?? null, photos: photosOf(item) };
    (item.major_hazard ? major : general).push(f);
  }
  return { major, general, passed, notApplicable };
}

/** The raw string `answer_item` takes (the store parses it like the CLI does). */
export function rawAnswer(item: ItemView, input: YesNoNa | number | string | string[]): string {
  if (Array.isArray(input)) return input.join(',');
  return String(input);
}

/** The answer as a short text for the list view. */
export function answerLabel(item: ItemView, labels: { yes: string; no: string; na: string }): string {
  const v = item.answer?.value;
  if (!v) return '';
  switch (v.type) {
    case 'yes_no_na': return labels[v.value];
    case 'number': return item.unit ? `${v.value} ${item.unit}` : String(v.value);
    case 'choice': return v.value.map((c) => item.choices.find((x) => x.value === c)?.label_zh ?? c).join('、');
    case 'text': return v.value;
    case 'photos': return String(v.value.length);
  }
}

/** Choice values toggled: multiple adds/removes, single replaces. */
export function toggleChoice(item: ItemView, current: string[], value: string): string[] {
  if (!item.multiple) return [value];
  const set = new Set(current);
  if (set.has(value)) set.delete(value); else set.add(value);
  // Keep the template's order.
  return item.choices.map((c) => c.value).filter((c) => set.has(c));
}

export function currentChoices(item: ItemView): string[] {
  const v = item.answer?.value;
  return v && v.type === 'choice' ? v.value : [];
}

/** Index of the first item that still needs something, or 0. */
export function firstOpenIndex(items: ItemView[]): number {
  const i = items.findIndex((it) => (it.required && !isAnswered(it)) || needsPhoto(it));
  return i < 0 ? 0 : i;
}

function isLeased(e: EnterpriseDetail): boolean {
  return e.leases_as_tenant.length > 0 || e.sites_as_landlord.some((s) => s.leases.length > 0);
}

/**
 * Templates to offer on an enterprise page: the user's role's templates (newest
 * version of each), kept when the enterprise's facts call for them, and first the
 * templates the user's open assignments (任务) name for this enterprise, whatever their
 * role (an expert assigned a tip's verification runs it; the phone's store allows it
 * for the same reason). Re-inspection starts from a hazard, never from here.
 */
export function offerTemplates(
  templates: TemplateSummary[],
  role: Role,
  e: EnterpriseDetail,
  assigned: ReadonlySet<string> = new Set(),
): TemplateSummary[] {
  const newest = new Map<string, TemplateSummary>();
  for (const t of templates) {
    const have = newest.get(t.id);
    if (!have || have.version < t.version) newest.set(t.id, t);
  }
  const fits = (t: TemplateSummary): boolean => {
    switch (t.kind) {
      case 'reinspection': return false;
      case 'pre_lease': return isLeased(e);
      case 'major_hazard': return e.dust_involved;
      default: return true;
    }
  };
  // Officers may run every template, supervisors all but the experts', experts all but the
  // grid workers' (the town's expert team runs pre-lease checks for the officers and visits
  // with the supervision groups); grid workers their own. The same rule as
  // `Role::may_run` and the server's.
  const allowed = (t: TemplateSummary): boolean =>
    t.role === role ||
    role === 'officer' ||
    (role === 'supervisor' && t.role !== 'expert') ||
    (role === 'expert' && t.role !== 'grid_worker');
  const order: Record<string, number> = { survey: 0, dust_verification: 1, major_hazard: 2, pre_lease: 3, spot_check: 4 };
  const mine = (t: TemplateSummary): boolean => t.kind !== 'reinspection' && assigned.has(t.id);
  return [...newest.values()]
    .filter((t) => mine(t) || (allowed(t) && fits(t)))
    .sort((a, b) =>
      Number(mine(b)) - Number(mine(a))
      || Number(b.role === role) - Number(a.role === role)
      || (order[a.kind] ?? 9) - (order[b.kind] ?? 9));
}
