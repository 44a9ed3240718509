// The console's only door to data: the server's /v1/ API (docs/console.md). The
// session travels in the HttpOnly `gw_session` cookie; every write carries the
// session's CSRF token. A problem answer becomes an ApiError with its code.
import { hasKey, t } from './i18n';
import type {
  AssignmentItem, AssignOutcome, AuditPage, AuditVerify, Campaign, EnterprisePage, Coverage, CoverageEnterprise, HazardDetail, HazardItem,
  InspectionDetail, InspectionItem, LeaseLedger, MapView, Sample, Session, TemplateSummary, Tip, TipReporter,
  TipRequest, TipSummary,
} from './types';

/** A refused or failed request: the problem's code (or `network`), status and detail. */
export class ApiError extends Error {
  constructor(
    public readonly code: string,
    public readonly status: number,
    public readonly detail: string,
    public readonly retryAfter?: number,
  ) {
    super(`${code} (${status}): ${detail}`);
  }
}

/** What to show a user for an error, in the current language. */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return t('error.other', { status: '?', detail: String(e) });
  const key = `error.${e.code}`;
  if (hasKey(key)) return t(key, { detail: e.detail, status: e.status });
  return t('error.other', { status: e.status, detail: e.detail });
}

let csrf: string | null = null;
/** Called when a request finds the session gone (401 on anything but sign-in). */
let onSignedOut: () => void = () => {};

export function setSignedOutHandler(f: () => void): void {
  onSignedOut = f;
}

type Fetch = typeof fetch;
let fetchImpl: Fetch = (...a) => fetch(...a);
/** Tests replace fetch. */
export function setFetch(f: Fetch): void {
  fetchImpl = f;
}

/** Query string of the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let resp: Response;
  try {
    resp = await fetchImpl(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError('network', 0, String(e));
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!resp.ok) {
    const p = (json ?? {}) as { code?: string; detail?: string };
    // Signed in again in another tab: this tab's CSRF token is stale. Learn the
    // current one and try once more.
    if (p.code === 'csrf_failed' && !retried && path !== '/v1/login') {
      const s = await request<Session>('GET', '/v1/session').catch(() => null);
      if (s?.csrf_token) {
        csrf = s.csrf_token;
        return request<T>(method, path, body, true);
      }
    }
    const retry = Number(resp.headers.get('Retry-After') ?? '');
    const err = new ApiError(p.code ?? 'other', resp.status, p.detail ?? text.slice(0, 200),
      Number.isFinite(retry) && retry > 0 ? retry : undefined);
    if (resp.status === 401 && path !== '/v1/login') {
      csrf = null;
      onSignedOut();
    }
    throw err;
  }
  return json as T;
}

export async function login(userName: string, password: string): Promise<Session> {
  const s = await request<Session & { csrf_token: string }>('POST', '/v1/login', {
    user_name: userName, password, session_cookie: true,
  });
  csrf = s.csrf_token;
  return s;
}

/** The signed-in user after a reload (the cookie survives it), or null. */
export async function currentSession(): Promise<Session | null> {
  try {
    const s = await request<Session>('GET', '/v1/session');
    csrf = s.csrf_token ?? null;
    return s;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function logout(): Promise<void> {
  try {
    await request<void>('POST', '/v1/logout', {});
  } finally {
    csrf = null;
  }
}

export const api = {
  campaigns: () => request<Campaign[]>('GET', '/v1/campaigns'),
  coverage: (p: { campaign?: string; division?: string }) =>
    request<Coverage>('GET', `/v1/coverage${query(p)}`),
  coverageEnterprises: (p: { campaign?: string; division?: string; duty: string; status: string }) =>
    request<CoverageEnterprise[]>('GET', `/v1/coverage/enterprises${query({ ...p, limit: 10000 })}`),
  hazards: (p: { division?: string; overdue?: boolean }) =>
    request<HazardItem[]>('GET', `/v1/hazards${query(p)}`),
  hazard: (id: string) => request<HazardDetail>('GET', `/v1/hazards/${encodeURIComponent(id)}`),
  hazardEvent: (id: string, event: Record<string, unknown>) =>
    request<unknown>('POST', `/v1/hazards/${encodeURIComponent(id)}/events`, event),
  inspections: (p: { division?: string; review?: string }) =>
    request<InspectionItem[]>('GET', `/v1/inspections${query(p)}`),
  inspection: (id: string) => request<InspectionDetail>('GET', `/v1/inspections/${encodeURIComponent(id)}`),
  leases: (p: { division?: string; status?: string; open_hazards?: boolean }) =>
    request<LeaseLedger>('GET', `/v1/leases${query(p)}`),
  enterprises: (p: { division?: string; q?: string; limit?: number }) =>
    request<EnterprisePage>('GET', `/v1/enterprises${query(p)}`),
  map: (p: { division?: string }) => request<MapView>('GET', `/v1/map${query(p)}`),
  templates: () => request<TemplateSummary[]>('GET', '/v1/templates'),
  assignments: (p: { division?: string; status?: string; assignee?: string }) =>
    request<AssignmentItem[]>('GET', `/v1/assignments${query(p)}`),
  assign: (req: { assignee: string; template_id: string; due: string; note?: string; targets: Record<string, unknown> }) =>
    request<AssignOutcome>('POST', '/v1/assignments', req),
  reassign: (id: string, req: { assignee: string; due?: string; note?: string }) =>
    request<unknown>('POST', `/v1/assignments/${encodeURIComponent(id)}/reassign`, req),
  cancelAssignment: (id: string, reason: string) =>
    request<unknown>('POST', `/v1/assignments/${encodeURIComponent(id)}/cancel`, { reason }),
  samples: (p: { division?: string }) => request<Sample[]>('GET', `/v1/samples${query(p)}`),
  drawSample: (division: string, seed: number) => request<Sample>('POST', '/v1/samples', { division, seed }),
  sample: (id: string) => request<Sample>('GET', `/v1/samples/${encodeURIComponent(id)}`),
  tips: (p: { division?: string; status?: string }) => request<Tip[]>('GET', `/v1/tips${query(p)}`),
  tipSummary: (p: { division?: string }) => request<TipSummary>('GET', `/v1/tips/summary${query(p)}`),
  tip: (id: string) => request<Tip>('GET', `/v1/tips/${encodeURIComponent(id)}`),
  recordTip: (req: TipRequest) => request<Tip>('POST', '/v1/tips', req),
  tipDecision: (id: string, req: { decision: string; amount_yuan?: number; note?: string }) =>
    request<Tip>('POST', `/v1/tips/${encodeURIComponent(id)}/decision`, req),
  linkTipEnterprise: (id: string, req: { enterprise_uscc: string; assignee: string; deadline?: string }) =>
    request<Tip>('POST', `/v1/tips/${encodeURIComponent(id)}/enterprise`, req),
  /** Puts an unassigned tip before the sweep: its 疑似 entry in a village. */
  tipSuspected: (id: string, req: { village?: string; reported_name?: string }) =>
    request<Tip>('POST', `/v1/tips/${encodeURIComponent(id)}/suspected`, req),
  /** The reporter: only for an administrator or the recording officer (each read is logged). */
  tipReporter: (id: string) => request<TipReporter>('GET', `/v1/tips/${encodeURIComponent(id)}/reporter`),
  audit: (p: { actor?: string; action?: string; from?: string; to?: string; after?: number; limit?: number }) =>
    request<AuditPage>('GET', `/v1/audit${query(p)}`),
  auditVerify: () => request<AuditVerify>('GET', '/v1/audit/verify'),
  review: (inspectionId: string, state: string, comment: string) =>
    request<unknown>('POST', `/v1/inspections/${encodeURIComponent(inspectionId)}/review`,
      { state, comment: comment || undefined }),
};

/** The URL of a photo of an inspection (the server re-hashes the bytes it serves). */
export function photoUrl(inspectionId: string, sha256: string): string {
  return `/v1/inspections/${encodeURIComponent(inspectionId)}/photos/${encodeURIComponent(sha256)}`;
}

/** The URL of an Excel ledger (台账) for the current filters; the browser downloads it
 * with the session cookie. */
export function exportUrl(
  ledger: 'hazards' | 'inspections' | 'enterprises' | 'tips' | 'leases' | 'coverage',
  params: Record<string, string | number | boolean | undefined | null>,
): string {
  return `/v1/exports/${ledger}.xlsx${query(params)}`;
}

/** The URL of a photo of a hazard (found, or before/after a re-inspection). */
export function hazardPhotoUrl(hazardId: string, sha256: string): string {
  return `/v1/hazards/${encodeURIComponent(hazardId)}/photos/${encodeURIComponent(sha256)}`;
}

/** The URL of an inspection's printable record (检查记录, PDF). */
export function recordPdfUrl(inspectionId: string): string {
  return `/v1/inspections/${encodeURIComponent(inspectionId)}/record.pdf`;
}
