// In-memory Backend for unit tests and the browser preview (`?fake`, or no Tauri).
// It follows docs/ipc.md: same commands, same JSON, same error codes. It is not the
// truth about anything; the Rust store is.

import type { Backend, PhotoUpload } from './ipc';
import type {
  AppState, AssignmentView, CampaignView, EnterpriseDetail, EnterpriseFilters, EnterpriseHit, EnterpriseStatus, FinalizeOutcome,
  GridSummary, HazardDetail, HazardEvent, HazardSummary, InspectionDetail, InspectionReview, InspectionSummary, IpcError,
  ItemView, KnownAnswer, Lease, LeaseRecorded, NewLease, PhotoResult, PlanArgs, RectificationPlan, ReinspectArgs, Settings, StoredFinding, SyncRecord, SyncStatus, TemplateSummary,
  SuspectedAnswer, SuspectedAnswered, SuspectedItem,
} from './types';
import { fakeEnterprises, type FakeEnterprise } from './fake-data';
import { FAKE_TEMPLATES } from './fake-templates';
import { FAKE_CAMPAIGN } from './fake-campaign';
import { classifyQuery } from '../search';
import { isAnswered, missing as missingOf, photosOf, review } from '../checklist';
import { chinaToday, daysBetween } from '../deadlines';
import { isUscc, normalizeUscc } from '../lease';

function fail(code: string, message: string, extra: Partial<IpcError> = {}): never {
  throw { code, message, ...extra } satisfies IpcError;
}

function uuid(): string {
  return globalThis.crypto.randomUUID();
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await globalThis.crypto.subtle.digest('SHA-256', bytes as BufferSource);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function addDays(ymd: string, n: number): string {
  const [y, m, d] = ymd.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** 1×1 grey JPEG: the thumbnail where no canvas exists (Node tests). */
const TINY_JPEG =
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=';

/** Browser preview: a thumbnail with a watermark band, as the Rust pipeline would burn in. */
async function makeThumbnail(bytes: Uint8Array, lines: string[]): Promise<string> {
  if (typeof document === 'undefined' || typeof createImageBitmap === 'undefined') return TINY_JPEG;
  try {
    const bmp = await createImageBitmap(new Blob([bytes as BlobPart]));
    const w = 320;
    const h = Math.max(1, Math.round((bmp.height / bmp.width) * w));
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bmp, 0, 0, w, h);
    ctx.fillStyle = 'rgba(0,0,0,0.55)';
    ctx.fillRect(0, h - 18 * lines.length - 6, w, 18 * lines.length + 6);
    ctx.fillStyle = '#fff';
    ctx.font = '13px sans-serif';
    lines.forEach((l, i) => ctx.fillText(l, 6, h - 18 * (lines.length - i - 1) - 8));
    return c.toDataURL('image/jpeg', 0.8).split(',')[1];
  } catch {
    return TINY_JPEG;
  }
}

interface Insp {
  detail: InspectionDetail;
  items: ItemView[];
  signature: string | null;
}

interface Hz {
  summary: HazardSummary;
  events: HazardEvent[];
  plan: RectificationPlan | null;
}

export interface FakeOptions {
  enrolled?: boolean;
  role?: 'grid_worker' | 'expert' | 'officer' | 'supervisor';
  online?: boolean;
  /** Milliseconds each call waits (simulates a slow phone). */
  latencyMs?: number;
  now?: () => Date;
}

export class FakeBackend implements Backend {
  readonly kind = 'fake' as const;
  enterprises: FakeEnterprise[] = fakeEnterprises();
  inspections = new Map<string, Insp>();
  hazards = new Map<string, Hz>();
  photos = new Map<string, string>();
  /** Assignments (任务) as pulled from the server, every user's. */
  assignments: AssignmentView[] = [];
  /** 疑似 (suspected) units pulled for the village. */
  suspected: SuspectedItem[] = [];
  /** Reviews by inspection id, as pulled from the server. */
  reviews = new Map<string, InspectionReview>();
  records: SyncRecord[] = [];
  settings: Settings = { wifi_only_photos: true, language: 'zh' };
  state: AppState;
  online: boolean;
  lastSuccess: string | null;
  calls: string[] = [];
  private latency: number;
  private now: () => Date;

  constructor(opts: FakeOptions = {}) {
    this.now = opts.now ?? (() => new Date());
    this.latency = opts.latencyMs ?? 0;
    this.online = opts.online ?? true;
    const enrolled = opts.enrolled ?? true;
    this.state = {
      enrolled,
      user: enrolled ? { name: '张专家', role: opts.role ?? 'expert', jurisdiction: '320413104', jurisdiction_name: '儒林镇' } : null,
      device_id: 'fake-device-0001',
      server_url: enrolled ? 'https://gridwalk.example.cn' : null,
      platform: 'browser',
    };
    const nowIso = this.now().toISOString();
    this.lastSuccess = new Date(this.now().getTime() - 3 * 3600_000).toISOString();
    this.seed(nowIso);
  }

  private seed(nowIso: string) {
    const today = chinaToday(this.now());
    const mk = (e: FakeEnterprise, item: string, text: string, severity: 'major' | 'general', deadline: string, basis: string | null, state: HazardSummary['state'] = 'found') => {
      const id = uuid();
      const summary: HazardSummary = { id, item_id: item, severity, legal_basis: basis, state, deadline,
        overdue: state !== 'reinspected' && state !== 'closed' && daysBetween(today, deadline) < 0,
        enterprise_id: e.detail.id, enterprise_name: e.detail.name, inspection_id: null, description: text,
        assignee: null, listed: false };
      this.hazards.set(id, { summary, plan: null, events: [{ id: uuid(), hazard_id: id, at: nowIso, actor: '李专家', kind: 'created', skipped_reason: null }] });
      return id;
    };
    const [al, , , tenant, wood] = this.enterprises;
    const woodHazard = mk(wood, 'MH-D-10', '未落实粉尘清理制度，造成作业现场积尘严重', 'major', addDays(today, -5), '10号令 第十一条(十)', 'rectifying');
    // Two phones changed it offline: the grid worker's close came second and did not apply.
    const wh = this.hazards.get(woodHazard)!;
    wh.summary.assignee = '江苏金坛嘉园木业有限公司 陈厂长';
    const t0 = (h: number) => new Date(this.now().getTime() - h * 3600_000).toISOString();
    wh.events = [
      { ...wh.events[0], at: t0(400) },
      { id: uuid(), hazard_id: woodHazard, at: t0(300), actor: '李专家', kind: 'assigned', to: '江苏金坛嘉园木业有限公司 陈厂长', skipped_reason: null },
      { id: uuid(), hazard_id: woodHazard, at: t0(200), actor: '李专家', kind: 'rectification_started', skipped_reason: null },
      { id: uuid(), hazard_id: woodHazard, at: t0(100), actor: '李网格', kind: 'closed',
        skipped_reason: '`Closed` is not allowed when the hazard is Rectifying' },
    ];
    mk(tenant, 'R6-08', '在粉尘爆炸较大危险因素的工艺、场所、设施设备和岗位设置安全警示标志', 'general', addDays(today, 12), '6号令 第十一条');
    mk(al, 'R6-05', '为粉尘作业岗位从业人员提供符合国家标准或行业标准的劳动防护用品（防尘、防静电）', 'general', addDays(today, 20), '6号令 第九条');
    const t = (h: number) => new Date(this.now().getTime() - h * 3600_000).toISOString();
    this.records = [
      { id: uuid(), kind: 'inspection', label: '粉尘涉爆企业网格排查 · 江苏金坛嘉园木业有限公司', state: 'complete', error: null, photos_total: 2, photos_done: 2, bytes_total: 2_400_000, bytes_done: 2_400_000, updated_at: t(3) },
      { id: uuid(), kind: 'inspection', label: '粉尘涉爆企业网格排查 · 常州市华宇喷涂有限公司', state: 'accepted', error: null, photos_total: 3, photos_done: 1, bytes_total: 3_600_000, bytes_done: 1_200_000, updated_at: t(2) },
      { id: uuid(), kind: 'hazard_event', label: '隐患处理 · 江苏金坛嘉园木业有限公司', state: 'failed', error: { code: 'network.timeout', message: 'request timed out after 30s' }, photos_total: 0, photos_done: 0, bytes_total: 0, bytes_done: 0, updated_at: t(1) },
    ];
    // One visit in the past, so the grid shows some coverage; an officer found a problem with it.
    const woodInsp = uuid();
    this.reviews.set(woodInsp, { state: 'has_issues', comment: '照片未拍到除尘器泄爆口，请补拍后更正', reviewer: '王科长', at: t(20) });
    this.inspections.set(woodInsp, { signature: null, items: [], detail: {
      id: woodInsp, status: 'finalized', template_id: 'grid-survey', template_version: 1, template_title: '粉尘涉爆企业网格排查',
      enterprise_id: wood.detail.id, enterprise_uscc: wood.detail.uscc, enterprise_name: wood.detail.name, inspector: '李网格',
      role: 'grid_worker', started_at: t(30), score: null, findings: [], finalized_at: t(29), payload_sha256: 'a'.repeat(64), review: null } });
    // Assignments (任务) from the district: the user's overdue one, an open one, a done one; another user's.
    const [, textile] = this.enterprises;
    const me = this.state.user?.name ?? '张专家';
    const task = (e: FakeEnterprise, assignee: string, template: string, due: string, status: AssignmentView['status'], note: string | null): AssignmentView => ({
      id: uuid(), enterprise_id: e.detail.id, enterprise_uscc: e.detail.uscc, division_code: e.detail.village_code, assignee,
      template_id: template, due, note, status, assigned_by: '王科长', created_at: t(240), updated_at: t(240), fulfilled_by: null,
      sample_id: null, overdue: false, enterprise_name: e.detail.name });
    this.assignments = [
      task(textile, me, 'expert-major-hazard', addDays(today, -2), 'open', '百日行动抽查：核实棉尘收集方式'),
      task(al, me, 'expert-major-hazard', addDays(today, 6), 'open', '铝粉抛光线重大隐患排查'),
      task(wood, me, 'expert-major-hazard', addDays(today, -20), 'fulfilled', null),
      task(tenant, '李网格', 'grid-survey', addDays(today, 3), 'open', null),
    ];
    this.suspected = [{ id: uuid(), name: '无名铝件打磨作坊', address: '儒林镇南村工业集中区8号后院', village_code: '320413104201',
      note: '举报核查（12350热线）：群众反映该地址有作坊夜间打磨铝件，粉尘很大', deadline: addDays(today, 4), state: 'open', answered: null }];
  }

  private async tick(name: string) {
    this.calls.push(name);
    if (this.latency > 0) await new Promise((r) => setTimeout(r, this.latency));
  }

  private requireEnrolled() {
    if (!this.state.enrolled) fail('app.not_enrolled', 'device is not enrolled');
  }

  private ent(key: string): FakeEnterprise {
    const e = this.enterprises.find((x) => x.detail.id === key || x.detail.uscc === key.toUpperCase());
    if (!e) fail('store.not_found', `enterprise not found: ${key}`);
    return e;
  }

  private insp(id: string): Insp {
    const i = this.inspections.get(id);
    if (!i) fail('inspect.not_found', `inspection not found: ${id}`);
    return i;
  }

  private hz(id: string): Hz {
    const h = this.hazards.get(id);
    if (!h) fail('hazard.not_found', `hazard not found: ${id}`);
    return h;
  }

  private visited(enterpriseId: string): boolean {
    return [...this.inspections.values()].some((i) => i.detail.enterprise_id === enterpriseId && i.detail.status === 'finalized');
  }

  private refreshOverdue() {
    const today = chinaToday(this.now());
    for (const h of this.hazards.values()) {
      const open = ['found', 'assigned', 'rectifying'].includes(h.summary.state);
      h.summary.overdue = open && daysBetween(today, h.summary.deadline) < 0;
    }
  }

  private openHazards(enterpriseId?: string): HazardSummary[] {
    this.refreshOverdue();
    return [...this.hazards.values()].map((h) => h.summary)
      .filter((h) => h.state !== 'closed' && (!enterpriseId || h.enterprise_id === enterpriseId));
  }

  async appState(): Promise<AppState> {
    await this.tick('app_state');
    return structuredClone(this.state);
  }

  async enroll(a: { server_url: string; code: string }): Promise<AppState> {
    await this.tick('enroll');
    if (!/^https?:\/\/[^\s/]+/.test(a.server_url.trim())) fail('enroll.bad_url', `not a URL: ${a.server_url}`);
    if (!this.online) fail('network.offline', 'no network');
    if (a.code.trim().length < 4) fail('server.enrollment_code_invalid', 'unknown or expired enrollment code');
    this.state = { ...this.state, enrolled: true, server_url: a.server_url.trim(),
      user: { name: '张专家', role: 'expert', jurisdiction: '320413104', jurisdiction_name: '儒林镇' } };
    return structuredClone(this.state);
  }

  async scanQr(): Promise<string> {
    await this.tick('scan_qr');
    fail('scan.unavailable', 'no camera scanner in the browser preview');
  }

  async campaign(): Promise<CampaignView | null> {
    await this.tick('campaign');
    if (!this.state.enrolled) return null;
    const today = chinaToday();
    return structuredClone({ ...FAKE_CAMPAIGN, active: FAKE_CAMPAIGN.starts_on <= today && today <= FAKE_CAMPAIGN.ends_on });
  }

  async gridSummary(): Promise<GridSummary> {
    await this.tick('grid_summary');
    this.requireEnrolled();
    const visited = this.enterprises.filter((e) => this.visited(e.detail.id)).length;
    const open = this.openHazards();
    return { jurisdiction_name: this.state.user?.jurisdiction_name ?? null, enterprises: this.enterprises.length, visited,
      not_visited: this.enterprises.length - visited, open_hazards: open.length, overdue_hazards: open.filter((h) => h.overdue).length };
  }

  async searchEnterprises(a: { query: string; filters: EnterpriseFilters; limit: number }): Promise<EnterpriseHit[]> {
    await this.tick('search_enterprises');
    this.requireEnrolled();
    const c = classifyQuery(a.query);
    if (c.kind === 'too_long') fail('store.bad_query', 'search query longer than 64 characters');
    const f = a.filters ?? {};
    const hits: { rank: number; hit: EnterpriseHit }[] = [];
    for (const e of this.enterprises) {
      const d = e.detail;
      let rank = 0;
      let matched: EnterpriseHit['matched'] = 'all';
      if (c.kind === 'uscc') {
        if (!d.uscc.startsWith(c.text)) continue;
        matched = 'uscc';
      } else if (c.kind === 'pinyin') {
        if (e.initials.startsWith(c.text)) rank = 11;
        else if (e.full.startsWith(c.text)) rank = 12;
        else if (e.initials.includes(c.text)) rank = 13;
        else if (e.full.includes(c.text)) rank = 14;
        else continue;
        matched = 'pinyin';
      } else if (c.kind === 'substring') {
        if (d.name === c.text) rank = 0;
        else if (d.name.startsWith(c.text)) rank = 1;
        else if (d.name.includes(c.text)) rank = 2;
        else if ((d.address ?? '').includes(c.text)) rank = 3;
        else continue;
        matched = rank === 3 ? 'address' : 'name';
      }
      const leased = d.leases_as_tenant.length > 0 || d.sites_as_landlord.some((s) => s.leases.length > 0);
      const open = this.openHazards(d.id);
      const visited = this.visited(d.id);
      if (f.dust_category && e.category !== f.dust_category) continue;
      if (f.leased && !leased) continue;
      if (f.not_visited && visited) continue;
      if (f.open_hazards && open.length === 0) continue;
      hits.push({ rank, hit: { id: d.id, name: d.name, uscc: d.uscc, village_code: d.village_code, village_name: d.village_name,
        address: d.address, matched, dust_types: d.dust_types, leased, visited, open_hazards: open.length,
        overdue_hazards: open.filter((h) => h.overdue).length } });
    }
    hits.sort((x, y) => x.rank - y.rank || [...x.hit.name].length - [...y.hit.name].length || x.hit.name.localeCompare(y.hit.name));
    return hits.slice(0, Math.max(1, Math.min(a.limit, 500))).map((h) => h.hit);
  }

  async getEnterprise(a: { key: string }): Promise<EnterpriseDetail> {
    await this.tick('get_enterprise');
    return structuredClone(this.ent(a.key).detail);
  }

  async listSuspected(): Promise<SuspectedItem[]> {
    await this.tick('list_suspected');
    return structuredClone(this.suspected.filter((s) => s.state === 'open' && !s.answered));
  }

  async answerSuspected(a: { answer: SuspectedAnswer }): Promise<SuspectedAnswered> {
    await this.tick('answer_suspected');
    this.requireEnrolled();
    const x = a.answer;
    const s = this.suspected.find((e) => e.id === x.suspected_id);
    if (!s) fail('suspected.unknown', `no suspected enterprise ${x.suspected_id} on this phone`);
    if (s.answered || s.state !== 'open') fail('suspected.answered', `suspected enterprise ${s.id} is answered already`);
    let enterprise_id: string | null = null;
    if (x.found) {
      if (!x.uscc || !isUscc(x.uscc)) fail('suspected.bad_uscc', `\`${x.uscc ?? ''}\` is not a valid USCC`);
      if (!x.name?.trim()) fail('suspected.bad_input', 'name is missing');
      const [model] = this.enterprises;
      const unit: FakeEnterprise = { initials: '', full: '', category: null, detail: { ...structuredClone(model.detail), id: uuid(),
        uscc: normalizeUscc(x.uscc), name: x.name.trim(), industry: x.industry, village_code: s.village_code, address: s.address,
        dust_involved: false, dust_types: [], workers_per_shift: null, al_mg: false, key_supervision: false, safety_officer: null,
        risk_report: 'unknown', warning_education: 'unknown', location: null, sites_as_landlord: [], leases_as_tenant: [] } };
      this.enterprises.push(unit);
      enterprise_id = unit.detail.id;
    } else if (!x.note?.trim()) {
      fail('suspected.bad_input', 'note is missing');
    }
    s.answered = x.found ? 'confirmed' : 'not_found';
    const record_id = uuid();
    this.records.push({ id: record_id, kind: 'suspected_confirmation', label: `疑似单位核实 · ${x.name ?? s.address}`, state: 'queued',
      error: null, photos_total: 0, photos_done: 0, bytes_total: 0, bytes_done: 0, updated_at: this.now().toISOString() });
    return { record_id, state: s.answered, enterprise_id };
  }

  async recordLease(a: { lease: NewLease }): Promise<LeaseRecorded> {
    await this.tick('record_lease');
    this.requireEnrolled();
    const l = a.lease;
    const landlord = this.ent(l.landlord);
    if ((l.site_id === null) === (l.new_site === null)) fail('lease.bad_input', 'name an existing site or a new one, not both');
    if ((l.tenant === null) === (l.new_tenant === null)) fail('lease.bad_input', 'name an existing tenant or a new one, not both');
    if (l.start_date && l.end_date && l.end_date < l.start_date) fail('lease.bad_dates', `the lease ends (${l.end_date}) before it starts (${l.start_date})`);
    let tenant: FakeEnterprise;
    if (l.new_tenant) {
      if (!isUscc(l.new_tenant.uscc)) fail('lease.bad_uscc', `\`${l.new_tenant.uscc}\` is not a valid USCC`);
      if (this.enterprises.some((x) => x.detail.uscc === normalizeUscc(l.new_tenant!.uscc))) fail('lease.bad_input', 'this USCC is registered: choose the enterprise');
      tenant = { initials: '', full: '', category: null, detail: { ...structuredClone(landlord.detail), id: uuid(), uscc: normalizeUscc(l.new_tenant.uscc),
        name: l.new_tenant.name, industry: l.new_tenant.industry, village_code: l.new_tenant.village_code ?? landlord.detail.village_code,
        dust_involved: false, dust_types: [], workers_per_shift: null, al_mg: false, key_supervision: false, safety_officer: null,
        risk_report: 'unknown', warning_education: 'unknown', location: null, sites_as_landlord: [], leases_as_tenant: [] } };
      this.enterprises.push(tenant);
    } else {
      tenant = this.ent(l.tenant!);
    }
    let site = landlord.detail.sites_as_landlord.find((x) => x.id === l.site_id);
    if (l.site_id && !site) fail('lease.unknown_site', `site ${l.site_id} is not the landlord's`);
    if (!site) {
      site = { id: uuid(), name: l.new_site!.name, address: l.new_site!.address, landlord_id: landlord.detail.id, storeys: null, structure: null, leases: [] };
      landlord.detail.sites_as_landlord.push(site);
    }
    const lease: Lease = { id: uuid(), site_id: site.id, tenant_id: tenant.detail.id, floors: l.floors, area_m2: l.area_m2,
      start_date: l.start_date, end_date: l.end_date, equipment_leased: l.equipment_leased, equipment_description: l.equipment_description,
      safety_agreement_signed: l.safety_agreement_signed, use_zh: l.use_zh, recorded_on_site: true, pre_lease: { status: 'not_checked' },
      tenant_name: tenant.detail.name, tenant_uscc: tenant.detail.uscc, site_name: site.name, landlord_name: landlord.detail.name };
    site.leases.push(lease);
    tenant.detail.leases_as_tenant.push(structuredClone(lease));
    tenant.detail.pre_lease = tenant.detail.pre_lease ?? { status: 'not_checked' };
    this.records.push({ id: lease.id, kind: 'lease', label: `厂中厂租赁 · ${tenant.detail.name}`, state: 'queued', error: null,
      photos_total: 0, photos_done: 0, bytes_total: 0, bytes_done: 0, updated_at: this.now().toISOString() });
    return { lease_id: lease.id, site_id: site.id, tenant_id: tenant.detail.id };
  }

  async enterpriseStatus(a: { key: string }): Promise<EnterpriseStatus> {
    await this.tick('enterprise_status');
    const e = this.ent(a.key);
    return { enterprise_id: e.detail.id, dust_confirmed: null, safety_officer_confirmed: null, risk_report_confirmed: null,
      training_confirmed: null, pre_lease: null };
  }

  async listTemplates(): Promise<TemplateSummary[]> {
    await this.tick('list_templates');
    return FAKE_TEMPLATES.map((t) => ({ id: t.id, version: t.version, title_zh: t.title_zh, role: t.role as TemplateSummary['role'],
      kind: t.kind as TemplateSummary['kind'], items: t.items.length, source: 'builtin', used: false }));
  }

  async listInspections(a: { enterprise_id: string }): Promise<InspectionSummary[]> {
    await this.tick('list_inspections');
    return [...this.inspections.values()].filter((i) => i.detail.enterprise_id === a.enterprise_id).map((i) => ({
      id: i.detail.id, template_id: i.detail.template_id, template_title: i.detail.template_title, status: i.detail.status,
      inspector: i.detail.inspector, started_at: i.detail.started_at, finalized_at: i.detail.finalized_at,
      major_findings: i.detail.findings.filter((f) => f.severity === 'major').length,
      general_findings: i.detail.findings.filter((f) => f.severity === 'general').length,
      sync_state: i.detail.status === 'finalized' ? (this.records.find((r) => r.id === i.detail.id)?.state ?? 'complete') : null,
      review_state: this.reviews.get(i.detail.id)?.state ?? null,
    })).sort((x, y) => y.started_at.localeCompare(x.started_at));
  }

  async startInspection(a: { enterprise: string; template_id: string; template_version: number | null }): Promise<{ inspection_id: string }> {
    await this.tick('start_inspection');
    this.requireEnrolled();
    const e = this.ent(a.enterprise);
    const t = FAKE_TEMPLATES.find((x) => x.id === a.template_id && (a.template_version === null || x.version === a.template_version));
    if (!t) fail('template.not_found', `template not found: ${a.template_id}`);
    const id = uuid();
    const items: ItemView[] = t.items.map(({ known_fact, ...it }) => {
      const known = known_fact ? knownAnswer(known_fact, e.detail) : undefined;
      return structuredClone(known ? { ...it, known } : it);
    });
    this.inspections.set(id, { signature: null, items, detail: {
      id, status: 'draft', template_id: t.id, template_version: t.version, template_title: t.title_zh, enterprise_id: e.detail.id,
      enterprise_uscc: e.detail.uscc, enterprise_name: e.detail.name, inspector: this.state.user!.name, role: this.state.user!.role,
      started_at: this.now().toISOString(), score: null, findings: [], finalized_at: null, payload_sha256: null, review: null } });
    return { inspection_id: id };
  }

  async getInspection(a: { inspection_id: string }): Promise<InspectionDetail> {
    await this.tick('get_inspection');
    const d = this.insp(a.inspection_id).detail;
    return structuredClone({ ...d, review: this.reviews.get(d.id) ?? null });
  }

  async inspectionItems(a: { inspection_id: string }): Promise<ItemView[]> {
    await this.tick('inspection_items');
    return structuredClone(this.insp(a.inspection_id).items);
  }

  async answerItem(a: { inspection_id: string; item_id: string; value: string; note: string | null }): Promise<ItemView> {
    await this.tick('answer_item');
    const insp = this.insp(a.inspection_id);
    if (insp.detail.status === 'finalized') fail('inspect.already_finalized', `inspection ${a.inspection_id} is already finalized`);
    const item = insp.items.find((i) => i.id === a.item_id);
    if (!item) fail('inspect.unknown_item', `template ${insp.detail.template_id} has no item \`${a.item_id}\``);
    const raw = a.value.trim();
    const bad = (why: string): never => fail('inspect.bad_answer', `item \`${item.id}\`: ${why}`);
    const keep = { note: a.note && a.note.trim() ? a.note.trim() : undefined };
    switch (item.answer_type) {
      case 'photo': fail('inspect.photo_item', `item \`${item.id}\` is a photo item: attach photos`);
      // eslint-disable-next-line no-fallthrough
      case 'yes_no_na': {
        const map: Record<string, 'yes' | 'no' | 'na'> = { yes: 'yes', y: 'yes', 是: 'yes', 有: 'yes', no: 'no', n: 'no', 否: 'no', 无: 'no', na: 'na', 'n/a': 'na', 不适用: 'na', 不涉及: 'na' };
        const v = map[raw.toLowerCase()];
        if (!v) bad(`\`${raw}\` is not yes, no or na`);
        item.answer = { value: { type: 'yes_no_na', value: v }, ...keep };
        break;
      }
      case 'number': {
        const m = /^(-?\d+(?:\.\d+)?)\s*(\S*)$/.exec(raw);
        if (!m || (m[2] && m[2] !== item.unit)) bad(`\`${raw}\` is not a number`);
        item.answer = { value: { type: 'number', value: Number(m![1]) }, ...keep };
        break;
      }
      case 'choice': {
        const parts = raw.split(/[,，、;；]/).map((s) => s.trim()).filter(Boolean);
        const vals = parts.map((p) => item.choices.find((c) => c.value === p || c.label_zh === p)?.value ?? bad(`unknown choice \`${p}\``));
        if (vals.length === 0 || (!item.multiple && vals.length > 1)) bad('choose one');
        item.answer = { value: { type: 'choice', value: item.choices.map((c) => c.value).filter((c) => vals.includes(c)) }, ...keep };
        break;
      }
      case 'text':
        if (!raw) bad('empty text');
        item.answer = { value: { type: 'text', value: raw }, ...keep };
        break;
    }
    if (!item.answer?.note) delete item.answer!.note;
    return structuredClone(item);
  }

  private async storePhoto(p: PhotoUpload, enterpriseName: string | null): Promise<{ sha: string; thumb: string }> {
    if (p.bytes.length === 0) fail('evidence.bad_photo', 'empty file');
    if (p.bytes.length > 30 * 1024 * 1024) fail('evidence.too_large', `photo is ${p.bytes.length} bytes`);
    const sha = await sha256Hex(p.bytes);
    const pos = p.stamp ? `${p.stamp.lat.toFixed(5)}, ${p.stamp.lon.toFixed(5)}${p.stamp.source === 'Manual' ? ' 手动' : ''}` : '无定位';
    const thumb = await makeThumbnail(p.bytes, [p.device_time.slice(0, 16).replace('T', ' '), pos, enterpriseName ?? '']);
    this.photos.set(sha, thumb);
    return { sha, thumb };
  }

  async attachPhoto(a: { inspection_id: string; item_id: string } & PhotoUpload): Promise<PhotoResult> {
    await this.tick('attach_photo');
    const insp = this.insp(a.inspection_id);
    if (insp.detail.status === 'finalized') fail('inspect.already_finalized', 'already finalized');
    const item = insp.items.find((i) => i.id === a.item_id);
    if (!item) fail('inspect.unknown_item', `no item ${a.item_id}`);
    const { sha, thumb } = await this.storePhoto(a, insp.detail.enterprise_name);
    // Like the store's inspection_photo table: photos belong to the item, answered or not.
    item.photos = [...(item.photos ?? []), sha];
    return { photo_id: uuid(), sha256: sha, item_id: item.id, off_site: null, thumbnail_jpeg_base64: thumb, stamp_flags: a.stamp ? [] : ['MissingStamp'] };
  }

  async addPhoto(a: { enterprise_id: string | null } & PhotoUpload): Promise<PhotoResult> {
    await this.tick('add_photo');
    const name = a.enterprise_id ? this.ent(a.enterprise_id).detail.name : null;
    const { sha, thumb } = await this.storePhoto(a, name);
    return { photo_id: uuid(), sha256: sha, item_id: null, off_site: null, thumbnail_jpeg_base64: thumb, stamp_flags: [] };
  }

  async photoThumbnail(a: { sha256: string }): Promise<{ thumbnail_jpeg_base64: string }> {
    await this.tick('photo_thumbnail');
    const t = this.photos.get(a.sha256);
    if (!t) fail('store.not_found', `photo not found: ${a.sha256}`);
    return { thumbnail_jpeg_base64: t };
  }

  async attachSignature(a: { inspection_id: string; signer: string; png: Uint8Array }): Promise<{ sha256: string }> {
    await this.tick('attach_signature');
    const insp = this.insp(a.inspection_id);
    if (insp.detail.status === 'finalized') fail('inspect.already_finalized', 'already finalized');
    if (!a.signer.trim()) fail('app.bad_argument', 'signer is empty');
    const sha = await sha256Hex(a.png);
    insp.signature = sha;
    return { sha256: sha };
  }

  async finalizeInspection(a: { inspection_id: string }): Promise<FinalizeOutcome> {
    await this.tick('finalize_inspection');
    const insp = this.insp(a.inspection_id);
    if (insp.detail.status === 'finalized') fail('inspect.already_finalized', `inspection ${a.inspection_id} is already finalized`);
    const m = missingOf(insp.items);
    if (m.unanswered.length || m.photo_missing.length) {
      fail('inspect.incomplete', 'cannot finalize, the inspection is incomplete', { missing: {
        unanswered: m.unanswered.map((i) => i.id), photo_missing: m.photo_missing.map((i) => i.id), invalid: [] } });
    }
    const r = review(insp.items);
    const today = chinaToday(this.now());
    const nowIso = this.now().toISOString();
    const findings: StoredFinding[] = [...r.major, ...r.general].map((f) => ({ item_id: f.item.id, section_id: f.item.section_id,
      severity: f.severity, text_zh: f.item.text, note: f.note ?? undefined, photo_sha256s: f.photos,
      legal_basis_text: f.item.legal_basis ?? null, hazard_id: uuid() }));
    for (const f of findings) {
      const summary: HazardSummary = { id: f.hazard_id, item_id: f.item_id, severity: f.severity, legal_basis: f.legal_basis_text,
        state: 'found', deadline: addDays(today, f.severity === 'major' ? 90 : 30), overdue: false, enterprise_id: insp.detail.enterprise_id,
        enterprise_name: insp.detail.enterprise_name, inspection_id: insp.detail.id, description: f.text_zh, assignee: null, listed: false };
      this.hazards.set(f.hazard_id, { summary, plan: null, events: [{ id: uuid(), hazard_id: f.hazard_id, at: nowIso, actor: insp.detail.inspector, kind: 'created', skipped_reason: null }] });
    }
    const bytes = new TextEncoder().encode(JSON.stringify({ id: insp.detail.id, answers: insp.items.filter(isAnswered).map((i) => [i.id, i.answer]) }));
    const sha = await sha256Hex(bytes);
    const passed = r.passed, failed = r.major.length + r.general.length;
    const score = { passed, failed, not_applicable: r.notApplicable, unanswered: 0, pass_rate_bp: passed + failed ? Math.round((10000 * passed) / (passed + failed)) : null };
    Object.assign(insp.detail, { status: 'finalized', findings, finalized_at: nowIso, payload_sha256: sha, score });
    const photos = insp.items.reduce((n, i) => n + photosOf(i).length, 0) + (insp.signature ? 1 : 0);
    this.records.push({ id: insp.detail.id, kind: 'inspection', label: `${insp.detail.template_title} · ${insp.detail.enterprise_name}`, state: 'queued', error: null,
      photos_total: photos, photos_done: 0, bytes_total: photos * 1_200_000, bytes_done: 0, updated_at: nowIso });
    return { inspection_id: insp.detail.id, payload_sha256: sha, score, hazards: findings.map((f) => f.hazard_id), chain_seq: 10 + this.records.length };
  }

  async listHazards(a: { enterprise_id: string | null; open_only: boolean }): Promise<HazardSummary[]> {
    await this.tick('list_hazards');
    this.refreshOverdue();
    return [...this.hazards.values()].map((h) => structuredClone(h.summary))
      .filter((h) => (!a.enterprise_id || h.enterprise_id === a.enterprise_id) && (!a.open_only || h.state !== 'closed'))
      .sort((x, y) => Number(y.overdue) - Number(x.overdue) || x.deadline.localeCompare(y.deadline));
  }

  async getHazard(a: { hazard_id: string }): Promise<HazardDetail> {
    await this.tick('get_hazard');
    this.refreshOverdue();
    return this.detailOf(this.hz(a.hazard_id));
  }

  private detailOf(h: Hz): HazardDetail {
    return structuredClone({ ...h.summary, detail: { plan: h.plan }, events: h.events });
  }

  async reinspectHazard(a: ReinspectArgs): Promise<HazardDetail> {
    await this.tick('reinspect_hazard');
    const h = this.hz(a.hazard_id);
    const at = this.now().toISOString();
    const actor = this.state.user?.name ?? 'device';
    // The device store would refuse found/assigned; the fake walks the lifecycle like an officer would.
    if (h.summary.state === 'closed' || h.summary.state === 'reinspected') fail('hazard.illegal_transition', `hazard transition refused: reinspected from ${h.summary.state}`);
    if (h.summary.state !== 'rectifying') {
      h.events.push({ id: uuid(), hazard_id: h.summary.id, at, actor, kind: 'rectification_started', skipped_reason: null });
    }
    h.events.push({ id: uuid(), hazard_id: h.summary.id, at, actor, kind: 'reinspected', passed: a.passed,
      before_photo_sha256s: a.before_photo_sha256s, after_photo_sha256s: a.after_photo_sha256s, note: a.note, skipped_reason: null });
    h.summary.state = a.passed ? 'reinspected' : 'rectifying';
    this.refreshOverdue();
    this.records.push({ id: uuid(), kind: 'hazard_event', label: `隐患处理 · ${h.summary.enterprise_name}`, state: 'queued', error: null,
      photos_total: a.before_photo_sha256s.length + a.after_photo_sha256s.length, photos_done: 0, bytes_total: 0, bytes_done: 0, updated_at: at });
    return this.detailOf(h);
  }

  async setHazardPlan(a: PlanArgs): Promise<HazardDetail> {
    await this.tick('set_hazard_plan');
    this.requireEnrolled();
    const h = this.hz(a.hazard_id);
    const plan: RectificationPlan = { measures: a.measures.trim(), responsible: a.responsible.trim(), funds_yuan: a.funds_yuan,
      deadline: a.deadline.trim(), interim_measures: a.interim_measures.trim() };
    if (!/^\d{4}-\d{2}-\d{2}$/.test(plan.deadline)) fail('hazard.bad_date', `\`${a.deadline}\` is not a date (YYYY-MM-DD)`);
    for (const [field, v] of [['measures', plan.measures], ['responsible', plan.responsible], ['interim_measures', plan.interim_measures]] as const) {
      if (!v) fail('hazard.plan_incomplete', `the rectification plan's ${field} is empty`);
    }
    if (!['found', 'assigned', 'rectifying'].includes(h.summary.state)) {
      fail('hazard.illegal_transition', `hazard transition refused: \`PlanSet\` is not allowed when the hazard is ${h.summary.state}`);
    }
    if (plan.deadline > h.summary.deadline) {
      fail('hazard.plan_deadline_later', `hazard transition refused: the plan's deadline ${plan.deadline} is after the hazard's deadline ${h.summary.deadline}; an officer extends deadlines`);
    }
    const at = this.now().toISOString();
    h.plan = plan;
    h.summary.deadline = plan.deadline;
    h.events.push({ id: uuid(), hazard_id: h.summary.id, at, actor: this.state.user?.name ?? 'device', kind: 'plan_set', ...plan, skipped_reason: null });
    this.refreshOverdue();
    this.records.push({ id: uuid(), kind: 'hazard_event', label: `隐患处理 · ${h.summary.enterprise_name}`, state: 'queued', error: null,
      photos_total: 0, photos_done: 0, bytes_total: 0, bytes_done: 0, updated_at: at });
    return this.detailOf(h);
  }

  async listAssignments(a: { all: boolean }): Promise<AssignmentView[]> {
    await this.tick('list_assignments');
    this.requireEnrolled();
    const today = chinaToday(this.now());
    const me = this.state.user?.name;
    const rank = (x: AssignmentView) => (x.status === 'open' ? 0 : 1);
    return this.assignments
      .filter((x) => x.assignee === me && (a.all || x.status === 'open'))
      .map((x) => structuredClone({ ...x, overdue: x.status === 'open' && daysBetween(today, x.due) < 0,
        enterprise_name: this.enterprises.find((e) => e.detail.id === x.enterprise_id)?.detail.name ?? null }))
      .sort((x, y) => rank(x) - rank(y) || (rank(x) === 0 ? x.due.localeCompare(y.due) : y.updated_at.localeCompare(x.updated_at)) || x.id.localeCompare(y.id));
  }

  async getReview(a: { inspection_id: string }): Promise<InspectionReview | null> {
    await this.tick('get_review');
    this.insp(a.inspection_id);
    return structuredClone(this.reviews.get(a.inspection_id) ?? null);
  }

  private status(running = false): SyncStatus {
    return { online: this.online, network: this.online ? 'wifi' : 'none', running, last_success_at: this.lastSuccess,
      last_error: this.online ? null : { code: 'network.offline', message: 'no network' }, records: structuredClone(this.records),
      hazard_events_waiting: 0 };
  }

  async syncStatus(): Promise<SyncStatus> {
    await this.tick('sync_status');
    return this.status();
  }

  async syncNow(): Promise<SyncStatus> {
    await this.tick('sync_now');
    const at = this.now().toISOString();
    for (const r of this.records) {
      if (r.state === 'complete') continue;
      if (!this.online) {
        r.state = 'failed';
        r.error = { code: 'network.offline', message: 'no network' };
      } else {
        r.state = 'complete';
        r.error = null;
        r.photos_done = r.photos_total;
        r.bytes_done = r.bytes_total;
      }
      r.updated_at = at;
    }
    if (this.online) {
      this.lastSuccess = at;
      // The server marks an assignment fulfilled by the assignee's inspection with its
      // template; the next pull brings that state.
      for (const x of this.assignments) {
        if (x.status !== 'open' || x.assignee !== this.state.user?.name) continue;
        const done = [...this.inspections.values()].find((i) => i.detail.status === 'finalized' && i.detail.enterprise_id === x.enterprise_id
          && i.detail.template_id === x.template_id && i.detail.inspector === x.assignee);
        if (done) Object.assign(x, { status: 'fulfilled', fulfilled_by: done.detail.id, updated_at: at });
      }
    }
    return this.status();
  }

  async getSettings(): Promise<Settings> {
    await this.tick('get_settings');
    return { ...this.settings };
  }

  async setSettings(a: Settings): Promise<Settings> {
    await this.tick('set_settings');
    this.settings = { ...a };
    return { ...this.settings };
  }
}

/** What the register knows for an item's `known` fact (device `inspection::known`). */
function knownAnswer(fact: string, e: EnterpriseDetail): KnownAnswer | undefined {
  const o = e.safety_officer;
  const placeholder = '（未登记姓名）';
  switch (fact) {
    case 'safety_officer_present':
      return o ? { value: 'yes', label_zh: o.name && o.name !== placeholder ? `已明确：${o.name}` : '已明确' } : undefined;
    case 'safety_officer_name':
      return o && o.name.trim() && o.name !== placeholder ? { value: o.name.trim(), label_zh: o.name.trim() } : undefined;
    case 'safety_officer_phone':
      return o?.phone?.trim() ? { value: o.phone.trim(), label_zh: o.phone.trim() } : undefined;
    case 'risk_report': {
      const labels: Record<string, string> = { filed: '已填报', helped_on_site: '现场帮助填报', not_filed: '未填报' };
      return labels[e.risk_report] ? { value: e.risk_report, label_zh: labels[e.risk_report] } : undefined;
    }
    case 'training': {
      const m: Record<string, [string, string]> = { attended: ['yes', '已参训'], verified: ['yes', '已考核'], not_done: ['no', '未培训'] };
      const hit = m[e.warning_education];
      return hit ? { value: hit[0], label_zh: hit[1] } : undefined;
    }
    default:
      return undefined;
  }
}
