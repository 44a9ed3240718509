import { describe, expect, it } from 'vitest';
import { href, parseHash, tabOf } from './router';
import { parseEnrollQr } from './enroll';
import { browserLocation, deviceTime, parseManual, stampFor, type LocationState } from './location';
import { ago, sortRecords, summarize, tone } from './sync';
import { filterHazards, canReinspect } from './hazards';
import { asciiJson, wantsFake, inTauri } from './backend/ipc';
import type { HazardSummary, SyncRecord, SyncStatus } from './backend/types';

describe('router', () => {
  it('round-trips every route', () => {
    const routes = [{ name: 'home' }, { name: 'enterprises' }, { name: 'enterprise', id: 'a b' }, { name: 'lease', id: 'a b' }, { name: 'inspection', id: 'i1' },
      { name: 'inspection', id: 'i1', item: 'MH-D-03' }, { name: 'review', id: 'i1' }, { name: 'done', id: 'i1' },
      { name: 'hazards' }, { name: 'hazard', id: 'h' }, { name: 'sync' }, { name: 'enroll' }] as const;
    for (const r of routes) expect(parseHash(href(r))).toEqual(r);
    expect(parseHash('')).toEqual({ name: 'home' });
    expect(parseHash('#/nowhere')).toEqual({ name: 'home' });
    expect(tabOf({ name: 'enterprise', id: 'x' })).toBe('enterprises');
    expect(tabOf({ name: 'inspection', id: 'x' })).toBeNull();
  });
});

describe('enrollment QR', () => {
  it('reads both payload forms', () => {
    expect(parseEnrollQr('gridwalk-enroll:1:ABCD')).toEqual({ code: 'ABCD', server_url: null });
    expect(parseEnrollQr('gridwalk-enroll:1:ABCD:https://x.cn:8443')).toEqual({ code: 'ABCD', server_url: 'https://x.cn:8443' });
    expect(parseEnrollQr('https://evil')).toBeNull();
  });
});

describe('location', () => {
  it('no provider is a clear state; manual entries are marked Manual', () => {
    const states: LocationState[] = [];
    browserLocation(undefined).watch((s) => states.push(s));
    expect(states).toEqual([{ kind: 'unavailable' }]);
    expect(parseManual('31.62', '119.49')).toEqual({ lat: 31.62, lon: 119.49 });
    expect(parseManual('91', '119')).toBeNull();
    expect(parseManual('', '1')).toBeNull();
    const now = new Date('2024-03-01T02:00:00Z');
    expect(stampFor({ kind: 'manual', lat: 31.6, lon: 119.5 }, now)).toMatchObject({ source: 'Manual', provider: 'manual', accuracy_m: null });
    expect(stampFor({ kind: 'unavailable' }, now)).toBeNull();
  });
  it('watchPosition fixes and refusals map to states', () => {
    const states: LocationState[] = [];
    let ok: ((p: never) => void) | null = null; let err: ((e: { code: number }) => void) | null = null;
    const geo = { watchPosition: (o: never, e: never) => { ok = o; err = e; return 7; }, clearWatch: (id: number) => states.push({ kind: 'manual', lat: id, lon: 0 }) };
    const stop = browserLocation(geo as never).watch((s) => states.push(s));
    ok!({ coords: { latitude: 31.6, longitude: 119.5, accuracy: 8, altitude: null }, timestamp: 0 } as never);
    err!({ code: 1 });
    stop();
    expect(states.map((s) => s.kind)).toEqual(['acquiring', 'fix', 'denied', 'manual']);
    expect(stampFor(states[1])).toMatchObject({ lat: 31.6, accuracy_m: 8, source: 'Device', fix_time: '1970-01-01T00:00:00.000Z' });
  });
  it('device time carries the offset', () => {
    expect(deviceTime(new Date())).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  });
});

describe('sync view', () => {
  const rec = (state: SyncRecord['state'], updated_at: string, photos = 0, done = 0): SyncRecord =>
    ({ id: state + updated_at, kind: 'inspection', label: '', state, error: null, photos_total: photos, photos_done: done, bytes_total: 0, bytes_done: 0, updated_at });
  it('summarizes and sorts failures first', () => {
    const s = { records: [rec('complete', '1'), rec('queued', '2', 3, 1), rec('failed', '3'), rec('accepted', '4', 2, 2)] } as SyncStatus;
    expect(summarize(s)).toEqual({ pending: 2, failed: 1, done: 1, photosLeft: 2 });
    expect(sortRecords(s.records).map((r) => r.state)).toEqual(['failed', 'queued', 'accepted', 'complete']);
    expect(tone('rejected')).toBe('bad');
    expect(ago('2024-01-01T00:00:00Z', new Date('2024-01-01T02:30:00Z'))).toEqual({ key: 'time.hours_ago', n: 2 });
  });
});

describe('hazard list', () => {
  const hz = (id: string, state: HazardSummary['state'], overdue: boolean, severity: 'major' | 'general', deadline: string) =>
    ({ id, state, overdue, severity, deadline } as HazardSummary);
  it('filters and puts overdue first', () => {
    const l = [hz('a', 'found', false, 'general', '2024-05-01'), hz('b', 'rectifying', true, 'major', '2024-04-01'), hz('c', 'closed', false, 'major', '2024-01-01')];
    expect(filterHazards(l, 'open').map((h) => h.id)).toEqual(['b', 'a']);
    expect(filterHazards(l, 'overdue').map((h) => h.id)).toEqual(['b']);
    expect(filterHazards(l, 'major').map((h) => h.id)).toEqual(['b']);
    expect(filterHazards(l, 'all')).toHaveLength(3);
    expect(canReinspect(l[0], true, 0)).toBe(false);
    expect(canReinspect(l[0], true, 1)).toBe(true);
    expect(canReinspect(l[2], false, 0)).toBe(false);
  });
});

describe('ipc doorway helpers', () => {
  it('header JSON is ASCII', () => {
    expect(asciiJson({ a: '手动' })).toBe('{"a":"\\u624b\\u52a8"}');
    expect(JSON.parse(asciiJson({ a: '手动' }))).toEqual({ a: '手动' });
  });
  it('uses the fake without Tauri or with ?fake', () => {
    expect(inTauri({ __TAURI_INTERNALS__: {} })).toBe(true);
    expect(inTauri({})).toBe(false);
    expect(wantsFake('', true)).toBe(false);
    expect(wantsFake('?fake', true)).toBe(true);
    expect(wantsFake('', false)).toBe(true);
  });
});
