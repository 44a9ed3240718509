// Hash routes: `#/home`, `#/enterprises`, `#/enterprise/<id>`, `#/enterprise/<id>/lease`
// (record a lease of its site), `#/inspection/<id>`,
// `#/inspection/<id>/review`, `#/inspection/<id>/done`, `#/hazards`, `#/hazard/<id>`,
// `#/sync`, `#/enroll`, `#/suspected/<id>` (疑似单位核实). Ids are URI-encoded.

export type Route =
  | { name: 'enroll' }
  | { name: 'home' }
  | { name: 'enterprises' }
  | { name: 'enterprise'; id: string }
  | { name: 'lease'; id: string }
  | { name: 'inspection'; id: string; item?: string }
  | { name: 'review'; id: string }
  | { name: 'done'; id: string }
  | { name: 'hazards' }
  | { name: 'hazard'; id: string }
  | { name: 'sync' }
  | { name: 'suspected'; id: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const [a, b, c] = parts;
  switch (a) {
    case 'enroll': return { name: 'enroll' };
    case 'enterprises': return { name: 'enterprises' };
    case 'enterprise':
      if (!b) return { name: 'enterprises' };
      return c === 'lease' ? { name: 'lease', id: b } : { name: 'enterprise', id: b };
    case 'inspection':
      if (!b) return { name: 'home' };
      if (c === 'review') return { name: 'review', id: b };
      if (c === 'done') return { name: 'done', id: b };
      return c ? { name: 'inspection', id: b, item: c } : { name: 'inspection', id: b };
    case 'hazards': return { name: 'hazards' };
    case 'hazard': return b ? { name: 'hazard', id: b } : { name: 'hazards' };
    case 'sync': return { name: 'sync' };
    case 'suspected': return b ? { name: 'suspected', id: b } : { name: 'home' };
    default: return { name: 'home' };
  }
}

export function href(r: Route): string {
  const e = encodeURIComponent;
  switch (r.name) {
    case 'enterprise': return `#/enterprise/${e(r.id)}`;
    case 'lease': return `#/enterprise/${e(r.id)}/lease`;
    case 'inspection': return r.item ? `#/inspection/${e(r.id)}/${e(r.item)}` : `#/inspection/${e(r.id)}`;
    case 'review': return `#/inspection/${e(r.id)}/review`;
    case 'done': return `#/inspection/${e(r.id)}/done`;
    case 'hazard': return `#/hazard/${e(r.id)}`;
    case 'suspected': return `#/suspected/${e(r.id)}`;
    default: return `#/${r.name}`;
  }
}

export function go(r: Route): void {
  location.hash = href(r);
}

/** Which bottom tab a route belongs to. */
export function tabOf(r: Route): 'home' | 'enterprises' | 'hazards' | 'sync' | null {
  switch (r.name) {
    case 'home': case 'suspected': return 'home';
    case 'enterprises': case 'enterprise': case 'lease': return 'enterprises';
    case 'hazards': case 'hazard': return 'hazards';
    case 'sync': return 'sync';
    default: return null;
  }
}
