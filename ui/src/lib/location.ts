// Where the inspector stands. The runner starts watching when an inspection opens and
// shows accuracy live; without a provider it says so plainly and takes a manual entry,
// which every stamp then carries as `source: "Manual"`.

import type { GpsStamp } from './backend/types';

export interface Fix {
  lat: number;
  lon: number;
  accuracy_m: number | null;
  altitude_m: number | null;
  /** Fix time, RFC 3339 UTC. */
  at: string;
}

export type LocationState =
  | { kind: 'acquiring' }
  | { kind: 'fix'; fix: Fix }
  | { kind: 'unavailable' }
  | { kind: 'denied' }
  | { kind: 'manual'; lat: number; lon: number };

export interface Location {
  /** Starts watching; returns a stop function. */
  watch(onState: (s: LocationState) => void): () => void;
}

/** Accuracy above this is shown as poor (the evidence policy flags > 50 m). */
export const POOR_ACCURACY_M = 50;

interface GeoLike {
  watchPosition(ok: (p: { coords: { latitude: number; longitude: number; accuracy: number; altitude: number | null }; timestamp: number }) => void,
    err: (e: { code: number }) => void, opts?: object): number;
  clearWatch(id: number): void;
}

/** The web view's `navigator.geolocation` (desktop web views, Android WebView with permission). */
export function browserLocation(geo: GeoLike | undefined = typeof navigator !== 'undefined' ? (navigator.geolocation as unknown as GeoLike) : undefined): Location {
  return {
    watch(onState) {
      if (!geo) {
        onState({ kind: 'unavailable' });
        return () => {};
      }
      onState({ kind: 'acquiring' });
      const id = geo.watchPosition(
        (p) => onState({ kind: 'fix', fix: {
          lat: p.coords.latitude, lon: p.coords.longitude,
          accuracy_m: Number.isFinite(p.coords.accuracy) ? p.coords.accuracy : null,
          altitude_m: p.coords.altitude ?? null,
          at: new Date(p.timestamp).toISOString(),
        } }),
        (e) => onState({ kind: e.code === 1 ? 'denied' : 'unavailable' }),
        { enableHighAccuracy: true, maximumAge: 10_000, timeout: 60_000 },
      );
      return () => geo.clearWatch(id);
    },
  };
}

/** A location that never has a fix (tests, devices without GNSS). */
export const noLocation: Location = {
  watch(onState) {
    onState({ kind: 'unavailable' });
    return () => {};
  },
};

/** Phone clock with its UTC offset, RFC 3339 (what `device_time` fields carry). */
export function deviceTime(now: Date = new Date()): string {
  const off = -now.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const local = new Date(now.getTime() + off * 60_000).toISOString().slice(0, 19);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The stamp to send with a photo or signature; null when there is no position at all. */
export function stampFor(s: LocationState, now: Date = new Date()): GpsStamp | null {
  const device_time = deviceTime(now);
  if (s.kind === 'fix') {
    return { lat: s.fix.lat, lon: s.fix.lon, accuracy_m: s.fix.accuracy_m, altitude_m: s.fix.altitude_m, fix_time: s.fix.at,
      device_time, provider: 'webview', satellites: null, mock_location: false, source: 'Device' };
  }
  if (s.kind === 'manual') {
    return { lat: s.lat, lon: s.lon, accuracy_m: null, altitude_m: null, fix_time: null,
      device_time, provider: 'manual', satellites: null, mock_location: false, source: 'Manual' };
  }
  return null;
}

/** Parses a typed position; null unless both numbers are in range. */
export function parseManual(lat: string, lon: string): { lat: number; lon: number } | null {
  const a = Number(lat.trim());
  const b = Number(lon.trim());
  if (lat.trim() === '' || lon.trim() === '' || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  if (Math.abs(a) > 90 || Math.abs(b) > 180) return null;
  return { lat: a, lon: b };
}
