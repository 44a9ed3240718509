import { describe, expect, it } from 'vitest';
import { emptyLeaseForm, isUscc, leaseFormErrors, normalizeUscc, preLeaseBadge, toNewLease } from './lease';
import { FakeBackend } from './backend/fake';

// 华宇喷涂 lets space on its site; 尧塘村塑业 rents it (backend/fake-data.ts).
const LANDLORD = '91320413MAEGYGDP7M';
const VALID = '91320413MA0000003U';

describe('lease form', () => {
  it('checks the USCC check character as GB 32100 defines it', () => {
    expect(isUscc(LANDLORD)).toBe(true);
    expect(isUscc('91320413MAEGYGDP7N')).toBe(false);
    expect(isUscc(' 9132 0413-maegygdp7m ')).toBe(true);
    expect(normalizeUscc(' 9132 0413-maegygdp7m ')).toBe(LANDLORD);
    expect(isUscc('91320413MAEGYGDP7')).toBe(false);
  });
  it('says what is missing or wrong, field by field', () => {
    const f = emptyLeaseForm();
    expect(leaseFormErrors(f)).toEqual({ newSiteName: 'lease.err.site', tenantUscc: 'lease.err.uscc_missing', newTenantName: 'lease.err.tenant_name' });
    const ok = { ...f, newSiteName: '3号楼', newTenantName: '常州市某某五金厂', tenantUscc: VALID, area: '800', startDate: '2026-01-01', endDate: '2028-12-31' };
    expect(leaseFormErrors(ok)).toEqual({});
    expect(leaseFormErrors({ ...ok, endDate: '2025-12-31' })).toEqual({ endDate: 'lease.err.end_before_start' });
    expect(leaseFormErrors({ ...ok, area: '-3' })).toEqual({ area: 'lease.err.area' });
    expect(leaseFormErrors({ ...ok, area: '1e999' })).toEqual({ area: 'lease.err.area' });
    expect(leaseFormErrors({ ...ok, tenantUscc: '91320413MA0000003V' })).toEqual({ tenantUscc: 'lease.err.uscc' });
  });
  it('builds the record_lease argument: a new site or an existing one, a new tenant or a registered one', () => {
    const f = { ...emptyLeaseForm(), newSiteName: ' 3号楼 ', newTenantName: '五金厂', tenantUscc: VALID.toLowerCase(), area: '800',
      floors: '3-4', equipmentLeased: true, equipmentDescription: '抛光机 6 台', agreement: 'no' as const };
    const n = toNewLease(f, 'landlord-id', '320413104206');
    expect(n).toMatchObject({ landlord: 'landlord-id', site_id: null, new_site: { name: '3号楼', address: null }, tenant: null,
      new_tenant: { name: '五金厂', uscc: VALID, village_code: '320413104206', industry: null }, area_m2: 800, floors: '3-4',
      equipment_leased: true, equipment_description: '抛光机 6 台', safety_agreement_signed: false, start_date: null });
    const existing = toNewLease({ ...f, siteId: 'site-1', tenantMode: 'existing', agreement: 'unknown', equipmentLeased: false }, 'l', null);
    expect(existing).toMatchObject({ site_id: 'site-1', new_site: null, tenant: VALID, new_tenant: null, safety_agreement_signed: null, equipment_description: null });
  });
  it('shows the pre-lease status as a badge', () => {
    expect(preLeaseBadge(undefined)).toBeNull();
    expect(preLeaseBadge({ status: 'not_fit', open_items: ['FZ-P-05', 'FZ-P-02'] })).toEqual({ key: 'lease.not_fit', tone: 'bad', n: 2 });
    expect(preLeaseBadge({ status: 'fit' })?.tone).toBe('ok');
    expect(preLeaseBadge({ status: 'not_checked' })?.key).toBe('lease.not_checked');
  });
  it('the fake backend records a lease with a new tenant offline and queues it for sync', async () => {
    const b = new FakeBackend({ role: 'grid_worker' });
    const landlord = await b.getEnterprise({ key: LANDLORD });
    const f = { ...emptyLeaseForm(landlord.sites_as_landlord[0].id), newTenantName: '常州市某某五金厂', tenantUscc: VALID, floors: '3' };
    const r = await b.recordLease({ lease: toNewLease(f, landlord.id, landlord.village_code) });
    const after = await b.getEnterprise({ key: LANDLORD });
    const l = after.sites_as_landlord[0].leases.find((x) => x.id === r.lease_id);
    expect(l).toMatchObject({ tenant_name: '常州市某某五金厂', recorded_on_site: true, pre_lease: { status: 'not_checked' } });
    const tenant = await b.getEnterprise({ key: VALID });
    expect(tenant.leases_as_tenant.map((x) => x.id)).toEqual([r.lease_id]);
    expect((await b.syncStatus()).records.find((x) => x.id === r.lease_id)).toMatchObject({ kind: 'lease', state: 'queued' });
    await expect(b.recordLease({ lease: toNewLease({ ...f, tenantUscc: '91320413MA0000003V' }, landlord.id, null) })).rejects.toMatchObject({ code: 'lease.bad_uscc' });
  });
});
