// The 登记租赁 form (record a lease of a landlord's site offline): its fields, what is
// wrong with them before anything is sent, and the `record_lease` argument. The device
// checks everything again (docs/leases.md); this gives the inspector the reason at once.

import type { NewLease, PreLeaseStatus } from './backend/types';
import type { MessageKey } from './i18n';

export interface LeaseForm {
  /** An existing site of the landlord, or '' for a new one. */
  siteId: string;
  newSiteName: string;
  newSiteAddress: string;
  /** `existing`: a registered enterprise (by USCC); `new`: registered here on site. */
  tenantMode: 'existing' | 'new';
  tenantUscc: string;
  newTenantName: string;
  newTenantIndustry: string;
  floors: string;
  area: string;
  startDate: string;
  endDate: string;
  use: string;
  equipmentLeased: boolean;
  equipmentDescription: string;
  agreement: 'yes' | 'no' | 'unknown';
}

export function emptyLeaseForm(siteId = ''): LeaseForm {
  return { siteId, newSiteName: '', newSiteAddress: '', tenantMode: 'new', tenantUscc: '', newTenantName: '', newTenantIndustry: '',
    floors: '', area: '', startDate: '', endDate: '', use: '', equipmentLeased: false, equipmentDescription: '', agreement: 'unknown' };
}

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A USCC as people type it: spaces and dashes removed, upper case. */
export function normalizeUscc(s: string): string {
  return s.replace(/[\s\u3000-]/g, '').toUpperCase();
}

/** Whether `s` is an 18-character USCC whose check character is right (GB 32100-2015). */
export function isUscc(s: string): boolean {
  const u = normalizeUscc(s);
  if (u.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = ALPHABET.indexOf(u[i]);
    if (v < 0) return false;
    sum += v * WEIGHTS[i];
  }
  return ALPHABET[(31 - (sum % 31)) % 31] === u[17];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The problems of the form, per field, as message keys; empty when it can be sent. */
export function leaseFormErrors(f: LeaseForm): Partial<Record<keyof LeaseForm, MessageKey>> {
  const e: Partial<Record<keyof LeaseForm, MessageKey>> = {};
  if (!f.siteId && !f.newSiteName.trim()) e.newSiteName = 'lease.err.site';
  if (!isUscc(f.tenantUscc)) e.tenantUscc = f.tenantUscc.trim() ? 'lease.err.uscc' : 'lease.err.uscc_missing';
  if (f.tenantMode === 'new' && !f.newTenantName.trim()) e.newTenantName = 'lease.err.tenant_name';
  const area = Number(f.area);
  if (f.area.trim() && !(Number.isFinite(area) && area > 0)) e.area = 'lease.err.area';
  if (f.startDate && !DATE.test(f.startDate)) e.startDate = 'lease.err.date';
  if (f.endDate && !DATE.test(f.endDate)) e.endDate = 'lease.err.date';
  if (DATE.test(f.startDate) && DATE.test(f.endDate) && f.endDate < f.startDate) e.endDate = 'lease.err.end_before_start';
  return e;
}

/** The `record_lease` argument for a valid form. */
export function toNewLease(f: LeaseForm, landlord: string, villageCode: string | null): NewLease {
  const opt = (s: string): string | null => (s.trim() ? s.trim() : null);
  const uscc = normalizeUscc(f.tenantUscc);
  return {
    landlord,
    site_id: f.siteId || null,
    new_site: f.siteId ? null : { name: f.newSiteName.trim(), address: opt(f.newSiteAddress) },
    tenant: f.tenantMode === 'existing' ? uscc : null,
    new_tenant: f.tenantMode === 'new' ? { name: f.newTenantName.trim(), uscc, village_code: villageCode, industry: opt(f.newTenantIndustry) } : null,
    floors: opt(f.floors),
    area_m2: f.area.trim() ? Number(f.area) : null,
    start_date: opt(f.startDate),
    end_date: opt(f.endDate),
    use_zh: opt(f.use),
    equipment_leased: f.equipmentLeased,
    equipment_description: f.equipmentLeased ? opt(f.equipmentDescription) : null,
    safety_agreement_signed: f.agreement === 'unknown' ? null : f.agreement === 'yes',
  };
}

/** How a pre-lease status shows: its label key and badge tone. */
export function preLeaseBadge(p: PreLeaseStatus | undefined): { key: MessageKey; tone: 'ok' | 'bad' | 'warn'; n: number } | null {
  if (!p) return null;
  switch (p.status) {
    case 'fit': return { key: 'lease.fit', tone: 'ok', n: 0 };
    case 'not_fit': return { key: 'lease.not_fit', tone: 'bad', n: p.open_items?.length ?? 0 };
    default: return { key: 'lease.not_checked', tone: 'warn', n: 0 };
  }
}
