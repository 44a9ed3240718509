// Shapes of the /v1/ answers the console reads (the server's OpenAPI document at
// /openapi.json is the contract; these name the fields used here).

export interface Session {
  user_name: string;
  role: string;
  jurisdiction: string;
  csrf_token?: string | null;
}

export interface Campaign {
  id: string;
  name_zh: string;
  year: number;
  area_code: string;
  starts_on: string;
  ends_on: string;
  duties: number;
}

export interface Counts {
  applicable: number;
  done: number;
  not_done: number;
  overdue: number;
}

/** Counts are flattened into the row. */
export interface ChildCoverage extends Counts {
  code: string;
  name: string | null;
  deadline: string | null;
}

export interface DutyCoverage extends Counts {
  duty_id: string;
  no: number;
  title_zh: string;
  deadline: string | null;
  children: ChildCoverage[];
}

export interface Coverage {
  campaign_id: string;
  campaign_name_zh: string;
  division: string;
  today: string;
  duties: DutyCoverage[];
}

export interface CoverageEnterprise {
  uscc: string;
  name: string | null;
  village_code: string;
  done: boolean;
}

export interface Plan {
  measures: string;
  responsible: string;
  funds_yuan?: number | null;
  deadline: string;
  interim_measures: string;
}

export interface HazardItem {
  id: string;
  enterprise_uscc: string;
  enterprise_name: string | null;
  division_code: string;
  severity: string;
  status: string;
  deadline: string;
  overdue: boolean;
  assignee: string | null;
  listed: boolean;
  found_at: string | null;
  closed_at: string | null;
  event_count: number;
  skipped_events: number;
  plan: Plan | null;
}

export interface Listed {
  notice_no: string;
  supervising_body: string;
  deadline: string;
}

export interface Reinspection {
  at: string;
  actor: string;
  passed: boolean;
  before_photo_sha256s: string[];
  after_photo_sha256s: string[];
  note: string | null;
}

export interface HazardState {
  hazard_id: string;
  severity: string;
  status: string;
  description_zh: string;
  item_id: string | null;
  inspection_id: string | null;
  legal_basis: { document: string; article: string; unconfirmed?: boolean } | null;
  photo_sha256s: string[];
  found_at: string;
  found_by: string;
  deadline: string;
  assignee: string | null;
  listed: Listed | null;
  plan: Plan | null;
  reinspections: Reinspection[];
  closed_at: string | null;
}

export interface HazardEvent {
  id: string;
  at: string;
  actor: string;
  kind: string;
  skipped_reason: string | null;
  [field: string]: unknown;
}

export interface HazardDetail {
  state: HazardState;
  overdue: boolean;
  events: HazardEvent[];
}

export interface InspectionItem {
  record_id: string;
  inspection_id: string;
  enterprise_uscc: string;
  enterprise_name: string | null;
  division_code: string;
  template_id: string;
  template_version: number;
  inspector: string;
  role: string;
  finalized_at: string;
  received_at: string;
  passed: number;
  failed: number;
  findings: number;
  photo_count: number;
  off_site: boolean | null;
  review_state: string | null;
  review_comment: string | null;
  reviewer: string | null;
  reviewed_at: string | null;
}

export interface TemplateSummary {
  id: string;
  version: number;
  title_zh: string;
  role: string;
}

export interface AssignmentItem {
  id: string;
  enterprise_id: string;
  enterprise_uscc: string;
  enterprise_name: string | null;
  division_code: string;
  assignee: string;
  template_id: string;
  due: string;
  note: string | null;
  status: 'open' | 'fulfilled' | 'cancelled';
  assigned_by: string;
  created_at: string;
  updated_at: string;
  fulfilled_by: string | null;
  sample_id: string | null;
  overdue: boolean;
}

export interface AssignOutcome {
  created: { id: string; enterprise_uscc: string }[];
  already_open: string[];
}

export interface SampleGroupCount {
  group: 'tenant' | 'dust_involved' | 'other';
  wanted: number;
  available: number;
  drawn: number;
}

export interface DrawnEnterprise {
  group: 'tenant' | 'dust_involved' | 'other';
  rank: string;
  uscc: string;
  name: string;
  village_code: string;
  dust_involved: boolean;
  tenant: boolean;
}

export interface Sample {
  id: string;
  division_code: string;
  created_by: string;
  created_at: string;
  seed: number;
  register_version: string;
  groups: SampleGroupCount[];
  enterprises: DrawnEnterprise[];
  shortfalls_zh: string[];
}

export interface ChainPosition {
  record_id: string;
  device_id: string;
  seq: number;
  payload_sha256: string;
  link_sha256: string | null;
  prev_link_sha256: string | null;
  chain: 'linked' | 'gap' | 'broken' | 'unanchored';
  received_at: string;
  device_time: string | null;
  clock_flag: string | null;
  clock_skew_s: number | null;
}

export interface PhotoEvidence {
  sha256: string;
  held: boolean;
  size: number | null;
  verified: boolean | null;
  record: ChainPosition | null;
  device_time: string | null;
  gnss_time: string | null;
  stamp: { lat: number; lon: number; accuracy_m?: number | null; provider?: string; source?: string; mock_location?: boolean } | null;
  stamp_flags: string[];
  distance_m: number | null;
  off_site: boolean | null;
  radius_m: number | null;
  original_sha256: string | null;
  derived_sha256: string | null;
  thumbnail_sha256: string | null;
}

export interface AnswerJson {
  value: { type: string; value: unknown };
  note?: string;
  photo_sha256s?: string[];
}

export interface FindingJson {
  item_id: string;
  severity: string;
  text_zh: string;
  legal_basis?: { document: string; article: string } | null;
  note?: string | null;
  photo_sha256s?: string[];
}

export interface InspectionDetail {
  item: InspectionItem;
  payload: {
    answers?: Record<string, AnswerJson>;
    findings?: FindingJson[];
    started_at?: string;
    finalized_at?: string;
  } | null;
  items: { id: string; section_zh: string; text_zh: string; legal_basis: string | null }[];
  record: ChainPosition;
  photos: PhotoEvidence[];
}

export interface Confirmation {
  by: string;
  at: string;
  inspection_id: string;
}

export interface EnterpriseRow {
  uscc: string;
  name: string;
  village_code: string;
  village_name: string | null;
  register: {
    address?: string | null;
    dust_types?: unknown[];
    workers_per_shift?: number | null;
    al_mg?: boolean;
    dust_involved?: boolean;
    safety_officer?: { name: string; phone?: string | null; confirmed_on_site?: boolean } | null;
    risk_report?: string;
    warning_education?: string;
    confirmations?: Record<string, Confirmation>;
  };
  tenant: boolean;
  last_visit: string | null;
  inspections: number;
  open_hazards: number;
}

export interface EnterprisePage {
  total: number;
  rows: EnterpriseRow[];
}

/** A landlord or tenant of the 厂中厂 ledger; figures are null outside the jurisdiction. */
export interface LeaseParty {
  enterprise_id: string;
  name: string;
  uscc: string;
  village_code: string;
  in_jurisdiction: boolean;
  open_hazards: number | null;
  overdue_hazards: number | null;
}

export type PreLeaseStatus = 'not_checked' | 'fit' | 'not_fit';

export interface PreLeaseView {
  status: PreLeaseStatus;
  status_zh: string;
  inspection_id: string | null;
  checked_at: string | null;
  inspector: string | null;
  failed_items: number;
  open_items: string[];
}

export interface LedgerLease {
  lease_id: string;
  tenant: LeaseParty;
  tenant_industry: string | null;
  tenant_dust_types: string[];
  last_inspection: { inspection_id: string; template_id: string; template_title: string; finalized_at: string } | null;
  floors: string | null;
  area_m2: number | null;
  start_date: string | null;
  end_date: string | null;
  equipment_leased: boolean;
  equipment_description: string | null;
  safety_agreement_signed: boolean | null;
  /** 用途 / 生产工艺 recorded on a phone. */
  use_zh: string | null;
  /** Recorded on a phone rather than imported (docs/leases.md). */
  recorded_on_site: boolean;
  pre_lease: PreLeaseView | null;
}

export interface LedgerSite {
  site_id: string;
  name: string;
  address: string | null;
  village_code: string;
  town_name: string;
  village_name: string;
  landlord: LeaseParty;
  leases: LedgerLease[];
}

/** `GET /v1/leases`: the 厂中厂 ledger of a division. */
export interface LeaseLedger {
  division: string;
  division_name: string;
  counts: { sites: number; leases: number; not_checked: number; fit: number; not_fit: number; withheld: number };
  sites: LedgerSite[];
}

export interface MapPointJson {
  lat: number;
  lon: number;
  wgs84_lat: number;
  wgs84_lon: number;
}

export interface MapView {
  division: string;
  division_name: string | null;
  tiles: { url: string; datum: 'wgs84' | 'gcj02'; attribution: string } | null;
  enterprises: (MapPointJson & { uscc: string; name: string; status: 'open_hazard' | 'visited' | 'not_visited' })[];
  unlocated: number;
  inspections: (MapPointJson & { inspection_id: string; enterprise_uscc: string; off_site: boolean | null })[];
}

/** A tip-off (举报核查, docs/tips.md) as officers see it: never the reporter. */
export interface Tip {
  id: string;
  division_code: string;
  source: 'hotline_12350' | 'internal' | 'other';
  content: string;
  enterprise_uscc: string | null;
  enterprise_name: string | null;
  address: string | null;
  received_on: string;
  recorded_by: string;
  recorded_at: string;
  deadline: string;
  status: 'unassigned' | 'verifying' | 'verified' | 'cancelled';
  overdue: boolean;
  assignment_id: string | null;
  assignee: string | null;
  outcome: 'substantiated' | 'partly_substantiated' | 'unsubstantiated' | null;
  verified_by: string | null;
  verified_at: string | null;
  finding: string | null;
  reward_decision: 'granted' | 'refused' | 'none' | null;
  reward_yuan: number | null;
  reward_note: string | null;
  reward_by: string | null;
  reward_at: string | null;
  /** The 疑似 (suspected) entry the sweep sees, for a tip naming no registered enterprise. */
  suspected: TipSuspected | null;
  /** The signed-in user may read the reporter (and one was recorded). */
  reporter_visible: boolean;
}

/** A tip's 疑似 entry (docs/tips.md): what the grid workers' phones of its village answer. */
export interface TipSuspected {
  id: string;
  state: 'open' | 'confirmed' | 'not_found';
  reported_name: string | null;
  address: string;
  village_code: string;
  confirmed_by: string | null;
  confirmed_at: string | null;
  uscc: string | null;
  note: string | null;
  record_id: string | null;
}

export interface TipCounts {
  received: number;
  verified: number;
  substantiated: number;
  pending: number;
  overdue: number;
}

export interface TipSummary extends TipCounts {
  division: string;
  children: (TipCounts & { code: string; name: string | null })[];
}

export interface TipReporter {
  tip_id: string;
  name: string | null;
  contact: string | null;
}

export interface TipRequest {
  source: Tip['source'];
  content: string;
  enterprise_uscc?: string;
  address?: string;
  division?: string;
  received_on: string;
  deadline: string;
  assignee?: string;
  reporter_name?: string;
  reporter_contact?: string;
}

/** One entry of the audit log (GET /v1/audit); `detail` is JSON text, hashed as stored. */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  actor_role: string;
  source: string;
  action: string;
  division: string | null;
  target_kind: string | null;
  target_id: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` for the next (older) page. */
  next_after: number | null;
}

/** GET /v1/audit/verify. */
export interface AuditVerify {
  entries: number;
  valid: boolean;
  first_bad: number | null;
  reason: string | null;
  head_seq: number | null;
  head_hash: string | null;
}
