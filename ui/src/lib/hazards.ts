// Hazard list filters and the re-inspection form's rules.
import type { HazardSummary } from './backend/types';

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
