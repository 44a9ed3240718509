// The IPC contract: the JSON the Rust commands return, as TypeScript types.
// docs/ipc.md is the written form of this file; keep them in step. Field names are the
// Rust serde names (snake_case); enums are the serde spellings.

/** Every IPC failure: a stable code (see docs/ipc.md and ERROR_CODES) and an English message for logs. */
export interface IpcError {
  code: string;
  message: string;
  /** Only with `inspect.incomplete`: what finalize is missing. */
  missing?: Missing;
}

export type Role = 'grid_worker' | 'expert' | 'officer' | 'supervisor';
export type Platform = 'android' | 'ios' | 'desktop' | 'browser';

export interface User {
  name: string;
  role: Role;
  /** Division code of the jurisdiction (village/grid, town or district). */
  jurisdiction: string;
  jurisdiction_name: string | null;
}

export interface AppState {
  enrolled: boolean;
  user: User | null;
  device_id: string;
  server_url: string | null;
  platform: Platform;
}

/** `search_enterprises` row: device `SearchHit` plus list facts. */
export interface EnterpriseHit {
  id: string;
  name: string;
  uscc: string;
  village_code: string;
  village_name: string | null;
  address: string | null;
  /** `name`, `address`, `pinyin`, `uscc`, or `all` for an empty query. */
  matched: 'name' | 'address' | 'pinyin' | 'uscc' | 'all';
  dust_types: string[];
  /** Tenant in a 厂中厂 or landlord letting space. */
  leased: boolean;
  visited: boolean;
  open_hazards: number;
  overdue_hazards: number;
}

export type DustCategory = 'metal' | 'agri_food' | 'wood_paper' | 'textile' | 'rubber_plastic' | 'coal' | 'other';

export interface EnterpriseFilters {
  dust_category?: DustCategory | null;
  leased?: boolean;
  not_visited?: boolean;
  open_hazards?: boolean;
}

export interface LatLon { lat: number; lon: number }

export interface SafetyOfficer { name: string; phone: string | null; confirmed_on_site: boolean }

export type RiskReportStatus = 'unknown' | 'not_filed' | 'helped_on_site' | 'filed';
export type TrainingStatus = 'unknown' | 'not_done' | 'attended' | 'verified';

export interface Lease {
  id: string;
  site_id: string;
  tenant_id: string;
  floors: string | null;
  area_m2: number | null;
  start_date: string | null;
  end_date: string | null;
  equipment_leased: boolean;
  equipment_description: string | null;
  safety_agreement_signed: boolean | null;
  /** 用途 / 生产工艺 as recorded (phone-recorded leases). */
  use_zh?: string | null;
  /** Recorded on a phone (现场登记) rather than imported with the register. */
  recorded_on_site?: boolean;
  /** The tenant's pre-lease status (the shared rule, computed on the device). */
  pre_lease?: PreLeaseStatus;
  tenant_name: string;
  tenant_uscc: string;
  site_name: string;
  landlord_name: string;
}

/** `gridwalk_checklist::pre_lease::PreLeaseStatus`: 未体检 / 适租 / 不适租. */
export interface PreLeaseStatus {
  status: 'not_checked' | 'fit' | 'not_fit';
  inspection_id?: string;
  /** The failed items of the latest check not yet rectified (不适租). */
  open_items?: string[];
}

/** The `record_lease` command's argument (a lease, and a new site or tenant, recorded offline). */
export interface NewLease {
  /** The landlord: enterprise id or USCC. */
  landlord: string;
  /** An existing site of the landlord, or `new_site`. */
  site_id: string | null;
  new_site: { name: string; address: string | null } | null;
  /** An existing enterprise as tenant (id or USCC), or `new_tenant`. */
  tenant: string | null;
  new_tenant: { name: string; uscc: string; village_code: string | null; industry: string | null } | null;
  floors: string | null;
  area_m2: number | null;
  start_date: string | null;
  end_date: string | null;
  use_zh: string | null;
  equipment_leased: boolean;
  equipment_description: string | null;
  safety_agreement_signed: boolean | null;
}

export interface LeaseRecorded { lease_id: string; site_id: string; tenant_id: string }

/** A 疑似 (suspected) enterprise pulled for the village (`gridwalk_device::suspected::SuspectedItem`). */
export interface SuspectedItem {
  id: string;
  name: string | null;
  address: string;
  village_code: string;
  /** What was reported (never who). */
  note: string;
  deadline: string;
  state: 'open' | 'confirmed' | 'not_found';
  /** This phone's answer, if any. */
  answered: 'confirmed' | 'not_found' | null;
}

/** The `answer_suspected` command's argument. */
export interface SuspectedAnswer {
  suspected_id: string;
  /** true: the unit found (uscc and name); false: 查无此单位 (note). */
  found: boolean;
  uscc: string | null;
  name: string | null;
  industry: string | null;
  note: string | null;
}

export interface SuspectedAnswered { record_id: string; state: 'confirmed' | 'not_found'; enterprise_id: string | null }

export interface SiteWithLeases {
  id: string;
  name: string;
  address: string | null;
  landlord_id: string;
  storeys: number | null;
  structure: string | null;
  leases: Lease[];
}

/** `gridwalk_device::register::EnterpriseDetail` (Enterprise flattened). */
export interface EnterpriseDetail {
  id: string;
  uscc: string;
  name: string;
  address: string | null;
  village_code: string;
  location: LatLon | null;
  industry: string | null;
  dust_involved: boolean;
  dust_types: string[];
  workers_per_shift: number | null;
  al_mg: boolean;
  key_supervision: boolean;
  safety_officer: SafetyOfficer | null;
  risk_report: RiskReportStatus;
  warning_education: TrainingStatus;
  village_name: string | null;
  town_name: string | null;
  sites_as_landlord: SiteWithLeases[];
  leases_as_tenant: Lease[];
  /** As a tenant: its pre-lease status (absent from an older device build). */
  pre_lease?: PreLeaseStatus;
}

export interface Confirmation { by: string; at: string; inspection_id: string }

/** `gridwalk_device::inspection::EnterpriseStatus` (the fields the UI shows). */
export interface EnterpriseStatus {
  enterprise_id: string;
  dust_confirmed: Confirmation | null;
  safety_officer_confirmed: Confirmation | null;
  risk_report_confirmed: Confirmation | null;
  training_confirmed: Confirmation | null;
  pre_lease: { result: string; major: number; general: number; conclusion: string | null; confirmed: Confirmation } | null;
}

export interface TemplateSummary {
  id: string;
  version: number;
  title_zh: string;
  role: Role;
  kind: 'survey' | 'dust_verification' | 'major_hazard' | 'pre_lease' | 'spot_check' | 'reinspection';
  items: number;
  /** Finalizing needs the enterprise's signature (the app always asks for one). */
  requires_signature?: boolean;
  source: string;
  used: boolean;
}

export type InspectionStatusName = 'draft' | 'finalized';

export interface InspectionSummary {
  id: string;
  template_id: string;
  template_title: string;
  status: InspectionStatusName;
  inspector: string;
  started_at: string;
  finalized_at: string | null;
  major_findings: number;
  general_findings: number;
  sync_state: RecordState | null;
  /** An officer's latest review of a finalized inspection (null until reviewed). */
  review_state: ReviewState | null;
}

export type YesNoNa = 'yes' | 'no' | 'na';

export type AnswerValue =
  | { type: 'yes_no_na'; value: YesNoNa }
  | { type: 'number'; value: number }
  | { type: 'choice'; value: string[] }
  | { type: 'text'; value: string }
  | { type: 'photos'; value: string[] };

export interface Answer {
  value: AnswerValue;
  note?: string;
  photo_sha256s?: string[];
}

export type AnswerType = 'yes_no_na' | 'number' | 'choice' | 'text' | 'photo';

export interface Choice { value: string; label_zh: string }

/** `gridwalk_device::inspection::ItemView`, plus `fail_when` for yes/no items. */
/** A register fact shown beside the question that asks it again (device `KnownAnswer`). */
export interface KnownAnswer {
  /** The answer as the item takes it (`yes`, `filed`, a name). */
  value: string;
  label_zh: string;
  confirmed_by?: string;
  confirmed_at?: string;
}

export interface ItemView {
  id: string;
  section_id: string;
  text: string;
  help?: string;
  answer_type: AnswerType;
  choices: Choice[];
  multiple: boolean;
  unit?: string;
  required: boolean;
  photo_required_on_fail: boolean;
  /** Answers that need a photo as evidence (`yes`; `filed`, `helped_on_site`). */
  photo_required_when?: string[];
  /** What the register already knows for this question, offered as the answer. */
  known?: KnownAnswer;
  major_hazard: boolean;
  legal_basis?: string;
  /** yes/no items: which answer is a failure (`yes`, `no`) or `never` (a fact). */
  fail_when?: 'yes' | 'no' | 'never';
  answer?: Answer;
  /** SHA-256 of every photo attached to this item (answered or not), oldest first. */
  photos?: string[];
}

export interface Score {
  passed: number;
  failed: number;
  not_applicable: number;
  unanswered: number;
  pass_rate_bp: number | null;
}

export interface StoredFinding {
  item_id: string;
  section_id: string;
  severity: Severity;
  text_zh: string;
  note?: string;
  photo_sha256s?: string[];
  legal_basis_text: string | null;
  hazard_id: string;
}

/** `gridwalk_device::inspection::InspectionDetail` (the fields the UI reads). */
export interface InspectionDetail {
  id: string;
  status: InspectionStatusName;
  template_id: string;
  template_version: number;
  template_title: string;
  enterprise_id: string;
  enterprise_uscc: string;
  enterprise_name: string;
  inspector: string;
  role: Role;
  started_at: string;
  score: Score | null;
  findings: StoredFinding[];
  finalized_at: string | null;
  payload_sha256: string | null;
  /** An officer's latest review, pulled from the server; null until reviewed. */
  review: InspectionReview | null;
}

export type ReviewState = 'approved' | 'has_issues' | 'rejected';

/** `gridwalk_device::work::InspectionReview`: 已通过 / 有问题 / 已驳回 with the officer's comment. */
export interface InspectionReview {
  state: ReviewState;
  comment: string | null;
  /** User name of the reviewing officer. */
  reviewer: string;
  at: string;
}

export type AssignmentStatus = 'open' | 'fulfilled' | 'cancelled';

/** `gridwalk_device::work::AssignmentView`: a pulled assignment (任务) plus `overdue` and the enterprise's name. */
export interface AssignmentView {
  id: string;
  enterprise_id: string;
  enterprise_uscc: string;
  division_code: string;
  /** User name of the inspector it is assigned to. */
  assignee: string;
  template_id: string;
  /** YYYY-MM-DD (China date). */
  due: string;
  note: string | null;
  status: AssignmentStatus;
  assigned_by: string;
  created_at: string;
  updated_at: string;
  fulfilled_by: string | null;
  sample_id: string | null;
  /** Open and past its due day (China date). */
  overdue: boolean;
  /** Null when the enterprise is not on this phone. */
  enterprise_name: string | null;
}

export interface Missing {
  unanswered: string[];
  photo_missing: string[];
  invalid: { item_id: string; reason: string }[];
}

export interface FinalizeOutcome {
  inspection_id: string;
  payload_sha256: string;
  score: Score;
  hazards: string[];
  chain_seq: number;
}

export type StampSource = 'Device' | 'ExifFallback' | 'Manual';

/** `gridwalk_evidence::stamp::GpsStamp`. */
export interface GpsStamp {
  lat: number;
  lon: number;
  accuracy_m: number | null;
  altitude_m: number | null;
  fix_time: string | null;
  device_time: string;
  provider: string;
  satellites: number | null;
  mock_location: boolean;
  source: StampSource;
}

/** `attach_photo` / `add_photo` result: `AttachedPhoto` plus the watermarked thumbnail. */
export interface PhotoResult {
  photo_id: string;
  sha256: string;
  item_id: string | null;
  off_site: boolean | null;
  /** The watermarked thumbnail, JPEG, base64 (no `data:` prefix). */
  thumbnail_jpeg_base64: string;
  stamp_flags: unknown[];
}

export type Severity = 'major' | 'general';
export type HazardState = 'found' | 'assigned' | 'rectifying' | 'reinspected' | 'closed';

/** `gridwalk_device::inspection::HazardSummary`. */
export interface HazardSummary {
  id: string;
  item_id: string | null;
  severity: Severity;
  legal_basis: string | null;
  state: HazardState;
  deadline: string;
  overdue: boolean;
  enterprise_id: string;
  enterprise_name: string;
  inspection_id: string | null;
  description: string;
  assignee: string | null;
  listed: boolean;
}

export interface HazardEvent {
  id: string;
  hazard_id: string;
  at: string;
  actor: string;
  kind: string;
  /** Why the fold skipped it (not legal where it falls in time order: another phone's
   * change came first); null when applied. */
  skipped_reason: string | null;
  [field: string]: unknown;
}

/** 五定: 整改措施, 责任人, 整改资金 (yuan), 整改时限, 应急预案. */
export interface RectificationPlan {
  measures: string;
  responsible: string;
  funds_yuan: number | null;
  deadline: string;
  interim_measures: string;
}

export interface HazardDetail extends HazardSummary {
  /** The folded state (`HazardState`); the UI reads the 五定 plan from it. */
  detail: { plan: RectificationPlan | null; [field: string]: unknown };
  events: HazardEvent[];
}

/** `set_hazard_plan` arguments; `deadline` YYYY-MM-DD, not later than the hazard's. */
export interface PlanArgs {
  hazard_id: string;
  measures: string;
  responsible: string;
  funds_yuan: number | null;
  deadline: string;
  interim_measures: string;
}

export type RecordState = 'queued' | 'sending' | 'failed' | 'accepted' | 'complete' | 'rejected';

export interface SyncRecord {
  id: string;
  kind: 'inspection' | 'finding' | 'hazard_event' | 'enterprise_fact' | 'evidence' | 'lease' | 'suspected_confirmation';
  /** The device's own kind: `photo` and `signature` both travel as `evidence`. */
  chain_kind?: 'inspection' | 'photo' | 'signature' | 'hazard_event' | 'lease' | 'suspected_confirmation';
  /** What the worker recognises, e.g. "粉尘涉爆企业网格排查 · 常州市…有限公司". */
  label: string;
  state: RecordState;
  /** Set when state is `failed` or `rejected`. */
  error: IpcError | null;
  photos_total: number;
  photos_done: number;
  bytes_total: number;
  bytes_done: number;
  updated_at: string;
}

export interface SyncStatus {
  online: boolean;
  /** `wifi`, `cellular`, `none`, or `unknown` where the platform cannot tell. */
  network: 'wifi' | 'cellular' | 'none' | 'unknown';
  running: boolean;
  last_success_at: string | null;
  last_error: IpcError | null;
  records: SyncRecord[];
  /** Hazard updates pulled from other phones that wait for earlier records. */
  hazard_events_waiting: number;
  /** Records and photos refused by the server or held back here (docs/ipc.md). */
  attention?: AttentionItem[];
}

/** A record or photo file that will not reach the server without a person. */
export interface AttentionItem {
  item: 'record' | 'photo';
  id: string;
  kind: string;
  seq: number | null;
  state: string;
  code: string;
  message: string;
  action: string;
}

export interface Settings {
  wifi_only_photos: boolean;
  language: 'zh' | 'en';
}

/** A duty of the campaign, with the deadline at the user's level. */
export interface DutyView {
  id: string;
  no: number;
  title_zh: string;
  summary_zh: string;
  deadline: string | null;
}

/** The campaign the Home screen shows, pulled from the server (docs/campaign.md). */
export interface CampaignView {
  id: string;
  name_zh: string;
  document_no: string | null;
  issued_by: string;
  starts_on: string;
  ends_on: string;
  active: boolean;
  duties: DutyView[];
}

export interface GridSummary {
  jurisdiction_name: string | null;
  enterprises: number;
  visited: number;
  not_visited: number;
  open_hazards: number;
  overdue_hazards: number;
}

export interface ReinspectArgs {
  hazard_id: string;
  passed: boolean;
  before_photo_sha256s: string[];
  after_photo_sha256s: string[];
  note: string | null;
}
