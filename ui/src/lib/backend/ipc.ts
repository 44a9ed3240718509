// The one doorway to the Rust side. Every read and write of the app goes through a
// `Backend`; `TauriBackend` is the only code that calls `invoke`. The fake (fake.ts)
// serves tests and the browser preview. The contract is docs/ipc.md.

import { invoke } from '@tauri-apps/api/core';
import { toIpcError } from './errors';
import { hasKey, t, type Lang } from '../i18n';
import type {
  AppState, AssignmentView, CampaignView, EnterpriseDetail, EnterpriseFilters, EnterpriseHit, EnterpriseStatus,
  FinalizeOutcome, GpsStamp, GridSummary, HazardDetail, HazardSummary, InspectionDetail, InspectionReview,
  InspectionSummary, IpcError, ItemView, LeaseRecorded, NewLease, PhotoResult, PlanArgs, ReinspectArgs, Settings, SyncStatus,
  SuspectedAnswer, SuspectedAnswered, SuspectedItem, TemplateSummary,
} from './types';

/** Photo bytes plus where and when they were taken. */
export interface PhotoUpload {
  bytes: Uint8Array;
  /** Phone clock at capture, RFC 3339 with offset. */
  device_time: string;
  stamp: GpsStamp | null;
}

export interface Backend {
  readonly kind: 'tauri' | 'fake';
  appState(): Promise<AppState>;
  enroll(args: { server_url: string; code: string; confirm_switch_server?: boolean }): Promise<AppState>;
  /** Mobile only: opens the camera QR scanner; resolves with the decoded text. */
  scanQr(): Promise<string>;
  gridSummary(): Promise<GridSummary>;
  /** The campaign pulled from the server for the user's jurisdiction; null when none. */
  campaign(): Promise<CampaignView | null>;
  searchEnterprises(args: { query: string; filters: EnterpriseFilters; limit: number }): Promise<EnterpriseHit[]>;
  getEnterprise(args: { key: string }): Promise<EnterpriseDetail>;
  /** Records a lease (and a new site or tenant) offline; it syncs like an inspection. */
  recordLease(args: { lease: NewLease }): Promise<LeaseRecorded>;
  enterpriseStatus(args: { key: string }): Promise<EnterpriseStatus>;
  /** The 疑似 (suspected) units waiting for the sweep (待办's 疑似单位核实). */
  listSuspected(): Promise<SuspectedItem[]>;
  /** Answers one offline: the unit found (registered on site) or 查无此单位. */
  answerSuspected(args: { answer: SuspectedAnswer }): Promise<SuspectedAnswered>;
  listTemplates(): Promise<TemplateSummary[]>;
  listInspections(args: { enterprise_id: string }): Promise<InspectionSummary[]>;
  startInspection(args: { enterprise: string; template_id: string; template_version: number | null }): Promise<{ inspection_id: string }>;
  getInspection(args: { inspection_id: string }): Promise<InspectionDetail>;
  inspectionItems(args: { inspection_id: string }): Promise<ItemView[]>;
  answerItem(args: { inspection_id: string; item_id: string; value: string; note: string | null }): Promise<ItemView>;
  attachPhoto(args: { inspection_id: string; item_id: string } & PhotoUpload): Promise<PhotoResult>;
  addPhoto(args: { enterprise_id: string | null } & PhotoUpload): Promise<PhotoResult>;
  photoThumbnail(args: { sha256: string }): Promise<{ thumbnail_jpeg_base64: string }>;
  attachSignature(args: { inspection_id: string; signer: string; png: Uint8Array; device_time: string; stamp: GpsStamp | null }): Promise<{ sha256: string }>;
  finalizeInspection(args: { inspection_id: string }): Promise<FinalizeOutcome>;
  listHazards(args: { enterprise_id: string | null; open_only: boolean }): Promise<HazardSummary[]>;
  getHazard(args: { hazard_id: string }): Promise<HazardDetail>;
  reinspectHazard(args: ReinspectArgs): Promise<HazardDetail>;
  /** Sets or revises the hazard's 五定 plan as the enrolled user. */
  setHazardPlan(args: PlanArgs): Promise<HazardDetail>;
  /** The acting user's assignments (任务): open ones by due date; `all` every state. */
  listAssignments(args: { all: boolean }): Promise<AssignmentView[]>;
  /** The latest review of an inspection on this phone; null until reviewed. */
  getReview(args: { inspection_id: string }): Promise<InspectionReview | null>;
  syncStatus(): Promise<SyncStatus>;
  syncNow(): Promise<SyncStatus>;
  getSettings(): Promise<Settings>;
  setSettings(args: Settings): Promise<Settings>;
}

/** Calls one command; a rejection always becomes an `IpcError`. */
export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Calls a command whose body is raw bytes; small arguments travel as headers. */
export async function callBytes<T>(cmd: string, bytes: Uint8Array, headers: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(cmd, bytes, { headers });
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Header values must be ASCII: JSON with non-ASCII characters escaped. */
export function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function photoHeaders(p: PhotoUpload, extra: Record<string, string>): Record<string, string> {
  return {
    ...extra,
    'gridwalk-device-time': p.device_time,
    'gridwalk-stamp': asciiJson(p.stamp),
  };
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;
  appState = () => call<AppState>('app_state');
  enroll = (a: { server_url: string; code: string; confirm_switch_server?: boolean }) => call<AppState>('enroll', a);
  scanQr = async () => {
    // The barcode-scanner plugin's own command (mobile only), still through this doorway.
    const r = await call<{ content: string }>('plugin:barcode-scanner|scan', { windowed: false, formats: ['QR_CODE'] });
    return r.content;
  };
  gridSummary = () => call<GridSummary>('grid_summary');
  campaign = () => call<CampaignView | null>('campaign');
  searchEnterprises = (a: { query: string; filters: EnterpriseFilters; limit: number }) => call<EnterpriseHit[]>('search_enterprises', a);
  getEnterprise = (a: { key: string }) => call<EnterpriseDetail>('get_enterprise', a);
  recordLease = (a: { lease: NewLease }) => call<LeaseRecorded>('record_lease', a);
  enterpriseStatus = (a: { key: string }) => call<EnterpriseStatus>('enterprise_status', a);
  listSuspected = () => call<SuspectedItem[]>('list_suspected');
  answerSuspected = (a: { answer: SuspectedAnswer }) => call<SuspectedAnswered>('answer_suspected', a);
  listTemplates = () => call<TemplateSummary[]>('list_templates');
  listInspections = (a: { enterprise_id: string }) => call<InspectionSummary[]>('list_inspections', a);
  startInspection = (a: { enterprise: string; template_id: string; template_version: number | null }) =>
    call<{ inspection_id: string }>('start_inspection', a);
  getInspection = (a: { inspection_id: string }) => call<InspectionDetail>('get_inspection', a);
  inspectionItems = (a: { inspection_id: string }) => call<ItemView[]>('inspection_items', a);
  answerItem = (a: { inspection_id: string; item_id: string; value: string; note: string | null }) => call<ItemView>('answer_item', a);
  attachPhoto = (a: { inspection_id: string; item_id: string } & PhotoUpload) =>
    callBytes<PhotoResult>('attach_photo', a.bytes, photoHeaders(a, { 'gridwalk-inspection-id': a.inspection_id, 'gridwalk-item-id': a.item_id }));
  addPhoto = (a: { enterprise_id: string | null } & PhotoUpload) =>
    callBytes<PhotoResult>('add_photo', a.bytes, photoHeaders(a, a.enterprise_id ? { 'gridwalk-enterprise-id': a.enterprise_id } : {}));
  photoThumbnail = (a: { sha256: string }) => call<{ thumbnail_jpeg_base64: string }>('photo_thumbnail', a);
  attachSignature = (a: { inspection_id: string; signer: string; png: Uint8Array; device_time: string; stamp: GpsStamp | null }) =>
    callBytes<{ sha256: string }>('attach_signature', a.png, {
      'gridwalk-inspection-id': a.inspection_id,
      // The signer's name is Chinese: percent-encoded UTF-8.
      'gridwalk-signer': encodeURIComponent(a.signer),
      'gridwalk-device-time': a.device_time,
      'gridwalk-stamp': asciiJson(a.stamp),
    });
  finalizeInspection = (a: { inspection_id: string }) => call<FinalizeOutcome>('finalize_inspection', a);
  listHazards = (a: { enterprise_id: string | null; open_only: boolean }) => call<HazardSummary[]>('list_hazards', a);
  getHazard = (a: { hazard_id: string }) => call<HazardDetail>('get_hazard', a);
  reinspectHazard = (a: ReinspectArgs) => call<HazardDetail>('reinspect_hazard', { ...a });
  setHazardPlan = (a: PlanArgs) => call<HazardDetail>('set_hazard_plan', { ...a });
  listAssignments = (a: { all: boolean }) => call<AssignmentView[]>('list_assignments', a);
  getReview = (a: { inspection_id: string }) => call<InspectionReview | null>('get_review', a);
  syncStatus = () => call<SyncStatus>('sync_status');
  syncNow = () => call<SyncStatus>('sync_now');
  getSettings = () => call<Settings>('get_settings');
  setSettings = (a: Settings) => call<Settings>('set_settings', { settings: a });
}

/** The Tauri shell injects this global; a plain browser does not. */
export function inTauri(w: unknown = typeof window !== 'undefined' ? window : undefined): boolean {
  return !!w && typeof w === 'object' && '__TAURI_INTERNALS__' in (w as object);
}

/** `?fake` in the URL, or no Tauri shell: the in-memory fake. */
export function wantsFake(search: string, tauri: boolean): boolean {
  return new URLSearchParams(search).has('fake') || !tauri;
}

let current: Backend | null = null;

export async function getBackend(): Promise<Backend> {
  if (current) return current;
  if (wantsFake(typeof location !== 'undefined' ? location.search : '', inTauri())) {
    const { FakeBackend } = await import('./fake');
    // `?fake=unenrolled` starts at the enroll screen (browser smoke run, preview);
    // `?fake=grid_worker` is enrolled as a grid worker instead of an expert.
    const mode = new URLSearchParams(typeof location !== 'undefined' ? location.search : '').get('fake');
    current = new FakeBackend({ enrolled: mode !== 'unenrolled', role: mode === 'grid_worker' ? 'grid_worker' : undefined });
  } else {
    current = new TauriBackend();
  }
  return current;
}

export function setBackend(b: Backend | null): void {
  current = b;
}

/** Plain words for an error code; unknown codes say so with the code. */
export function errorText(code: string, lang?: Lang): string {
  // `server.http_<status>`: the server answered an error without a problem body.
  const key = /^server\.http_\d+$/.test(code) ? 'error.server.internal' : `error.${code}`;
  return hasKey(key) ? t(key, undefined, lang) : t('error.generic', { code }, lang);
}

/** Text for anything caught: an `IpcError`, or any thrown value. */
export function describeError(e: unknown, lang?: Lang): string {
  const err: IpcError = toIpcError(e);
  return errorText(err.code, lang);
}
