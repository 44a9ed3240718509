// Hash routes with query parameters, so every page and its filters is a URL an officer
// can bookmark and send on: `#/overview?campaign=…&division=…&duty=…`,
// `#/coverage?campaign=…&division=…&duty=…&status=not_done`, `#/hazards?overdue=1`,
// `#/hazard/<id>`, `#/inspections?review=unreviewed`, `#/inspection/<id>`,
// `#/assignments?status=open`, `#/samples`, `#/sample/<id>`, `#/tips?status=verifying`,
// `#/tip/<id>`, `#/leases?status=not_fit&open=1`, `#/audit?actor=…&action=login.*&from=…&to=…`,
// `#/login`.

export type Page = 'login' | 'overview' | 'coverage' | 'hazards' | 'hazard' | 'inspections' | 'inspection'
  | 'assignments' | 'samples' | 'sample' | 'enterprises' | 'map' | 'tips' | 'tip' | 'leases' | 'audit';

export interface Route {
  page: Page;
  /** The id of a detail page. */
  id?: string;
  params: Record<string, string>;
}

const PAGES: Page[] = ['login', 'overview', 'coverage', 'hazards', 'hazard', 'inspections', 'inspection',
  'assignments', 'samples', 'sample', 'enterprises', 'map', 'tips', 'tip', 'leases', 'audit'];

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path, qs = ''] = raw.split('?', 2);
  const [first, second] = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const params: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) params[k] = v;
  const page = (PAGES as string[]).includes(first ?? '') ? (first as Page) : 'overview';
  const lists: Partial<Record<Page, Page>> = { hazard: 'hazards', inspection: 'inspections', sample: 'samples', tip: 'tips' };
  const list = lists[page];
  if (list && !second) return { page: list, params };
  return second ? { page, id: second, params } : { page, params };
}

export function href(page: Page, params: Record<string, string | number | boolean | undefined | null> = {}, id?: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, v === true ? '1' : String(v));
  }
  const s = q.toString();
  return `#/${page}${id ? `/${encodeURIComponent(id)}` : ''}${s ? `?${s}` : ''}`;
}
