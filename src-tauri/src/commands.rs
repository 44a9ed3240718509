//! Tauri commands (docs/ipc.md): each one line over the device crate. Inputs from the
//! web view are untrusted: sizes, ids and paths are checked in Rust (in the device
//! crate, and for raw bodies and headers in [`crate::raw`]). Who is acting comes from
//! the app state, never from the web view, and so does the jurisdiction every list,
//! search and get keeps to (`gridwalk_device::jurisdiction`): a record outside it is
//! left out of lists and refused with `store.outside_jurisdiction`.

use crate::error::IpcError;
use crate::info::{app_info, AppInfo};
use crate::raw;
use crate::state::AppState;
use gridwalk_device::app_settings::Settings;
use gridwalk_device::app_views::{
    EnterpriseFilters, EnterpriseHit, GridSummary, InspectionSummary, StartedInspection,
};
use gridwalk_device::inspection::checklist::{DeadlinePolicy, RectificationPlan};
use gridwalk_device::inspection::hazards::parse_date;
use gridwalk_device::inspection::{
    EnterpriseStatus, FinalizeOutcome, HazardDetail, HazardSummary, InspectionDetail, ItemView,
    TemplateSummary,
};
use gridwalk_device::leases::{LeaseInput, RecordedLease};
use gridwalk_device::photo_upload::{PhotoResult, Thumbnail};
use gridwalk_device::register::EnterpriseDetail;
use gridwalk_device::search::SearchHit;
use gridwalk_device::signature::{SignatureInput, SignatureResult};
use gridwalk_device::suspected::{AnsweredSuspected, SuspectedInput, SuspectedItem};
use gridwalk_device::work::{AssignmentView, InspectionReview};
use tauri::ipc::Request;
use tauri::State;

/// Search-box query over the register (Chinese, pinyin, USCC prefix). Kept from the
/// first shell; the UI uses `search_enterprises`.
#[tauri::command]
pub fn register_search(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>, IpcError> {
    Ok(state.store()?.search_enterprises_in(
        &query,
        limit.unwrap_or(30),
        state.jurisdiction().as_deref(),
    )?)
}

/// One enterprise with its site, tenants and statuses (same as `get_enterprise`).
#[tauri::command]
pub fn enterprise_show(
    state: State<'_, AppState>,
    key: String,
) -> Result<EnterpriseDetail, IpcError> {
    Ok(state
        .store()?
        .enterprise_in(state.jurisdiction().as_deref(), &key)?)
}

// ---- App ----

/// Device and user (`enrolled: false` until a user is set).
#[tauri::command(rename_all = "snake_case")]
pub fn app_state(state: State<'_, AppState>) -> Result<AppInfo, IpcError> {
    app_info(&state)
}

/// The stored settings.
#[tauri::command(rename_all = "snake_case")]
pub fn get_settings(state: State<'_, AppState>) -> Result<Settings, IpcError> {
    Ok(state.store()?.settings()?)
}

/// Replaces the settings.
#[tauri::command(rename_all = "snake_case")]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> Result<Settings, IpcError> {
    Ok(state.store()?.set_settings(&settings)?)
}

/// Enrolls the device with a one-time code (network call; the store is not held).
#[tauri::command(rename_all = "snake_case")]
pub async fn enroll(
    state: State<'_, AppState>,
    server_url: String,
    code: String,
    confirm_switch_server: Option<bool>,
) -> Result<AppInfo, IpcError> {
    let syncer = crate::sync::syncer(&state);
    tauri::async_runtime::spawn_blocking(move || {
        syncer.enroll_confirmed(
            &server_url,
            &code,
            Some(crate::info::platform()),
            confirm_switch_server.unwrap_or(false),
        )
    })
    .await
    .map_err(|e| IpcError::new("app.task_failed", e.to_string()))??;
    state.refresh_enrollment()?;
    state.kick_sync();
    app_info(&state)
}

// ---- Sync ----

/// The outbox and the last run, for the Sync screen.
#[tauri::command(rename_all = "snake_case")]
pub fn sync_status(state: State<'_, AppState>) -> Result<crate::sync::SyncView, IpcError> {
    crate::sync::view(&state)
}

/// Runs a sync now and answers when it ends (at once with `running: true` if a run is
/// already under way).
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_now(state: State<'_, AppState>) -> Result<crate::sync::SyncView, IpcError> {
    if !state.begin_sync() {
        return crate::sync::view(&state);
    }
    let syncer = crate::sync::syncer(&state);
    let result = tauri::async_runtime::spawn_blocking(move || syncer.run_once()).await;
    state.end_sync();
    match result {
        Ok(Ok(_)) => {}
        // Stored as the last error and shown in the view.
        Ok(Err(e)) if e.code() != "sync.not_enrolled" => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => return Err(IpcError::new("app.task_failed", e.to_string())),
    }
    crate::sync::view(&state)
}

// ---- Grid and register ----

/// Counts over the user's jurisdiction.
#[tauri::command(rename_all = "snake_case")]
pub fn grid_summary(state: State<'_, AppState>) -> Result<GridSummary, IpcError> {
    Ok(state.store()?.grid_summary(&state.user()?.jurisdiction)?)
}

/// The campaign the Home screen shows (pulled from the server): the one active today
/// covering the user's jurisdiction, else the latest; `null` when the phone holds none.
#[tauri::command(rename_all = "snake_case")]
pub fn campaign(
    state: State<'_, AppState>,
) -> Result<Option<gridwalk_device::campaign::CampaignView>, IpcError> {
    let jurisdiction = state.jurisdiction().unwrap_or_default();
    let Ok(code) = gridwalk_core::DivisionCode::parse(&jurisdiction) else {
        return Ok(None);
    };
    let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
    Ok(state.store()?.campaign_view(&code, today)?)
}

/// The enterprise list: search, or the jurisdiction by name for `query: ""`.
#[tauri::command(rename_all = "snake_case")]
pub fn search_enterprises(
    state: State<'_, AppState>,
    query: String,
    filters: Option<EnterpriseFilters>,
    limit: Option<usize>,
) -> Result<Vec<EnterpriseHit>, IpcError> {
    Ok(state.store()?.enterprise_list(
        &query,
        &filters.unwrap_or_default(),
        limit.unwrap_or(50),
        state.jurisdiction().as_deref(),
    )?)
}

/// One enterprise (id or USCC).
#[tauri::command(rename_all = "snake_case")]
pub fn get_enterprise(
    state: State<'_, AppState>,
    key: String,
) -> Result<EnterpriseDetail, IpcError> {
    Ok(state
        .store()?
        .enterprise_in(state.jurisdiction().as_deref(), &key)?)
}

/// Records a 厂中厂 lease offline as the enrolled user (docs/ipc.md `record_lease`): the
/// site and tenant may be new; the landlord must lie inside the user's jurisdiction.
#[tauri::command(rename_all = "snake_case")]
pub fn record_lease(
    state: State<'_, AppState>,
    lease: LeaseInput,
) -> Result<RecordedLease, IpcError> {
    let user = state.user()?;
    Ok(state
        .store()?
        .record_lease(user.jurisdiction(), &user.name, &lease)?)
}

/// The 疑似 (suspected) enterprises waiting for the sweep: 待办's 疑似单位核实
/// (docs/ipc.md `list_suspected`).
#[tauri::command(rename_all = "snake_case")]
pub fn list_suspected(state: State<'_, AppState>) -> Result<Vec<SuspectedItem>, IpcError> {
    Ok(state.store()?.suspected_entries(true)?)
}

/// Answers a 疑似 entry offline as the enrolled user (docs/ipc.md `answer_suspected`):
/// the unit found (registered on site by its USCC) or 查无此单位 with a note.
#[tauri::command(rename_all = "snake_case")]
pub fn answer_suspected(
    state: State<'_, AppState>,
    answer: SuspectedInput,
) -> Result<AnsweredSuspected, IpcError> {
    let user = state.user()?;
    Ok(state
        .store()?
        .answer_suspected(user.jurisdiction(), &user.name, &answer)?)
}

/// What finalized inspections confirm about an enterprise.
#[tauri::command(rename_all = "snake_case")]
pub fn enterprise_status(
    state: State<'_, AppState>,
    key: String,
) -> Result<EnterpriseStatus, IpcError> {
    Ok(state
        .store()?
        .enterprise_status_in(state.jurisdiction().as_deref(), &key)?)
}

// ---- Inspections ----

/// Every stored template version.
#[tauri::command(rename_all = "snake_case")]
pub fn list_templates(state: State<'_, AppState>) -> Result<Vec<TemplateSummary>, IpcError> {
    Ok(state.store()?.templates()?)
}

/// An enterprise's inspections, newest first.
#[tauri::command(rename_all = "snake_case")]
pub fn list_inspections(
    state: State<'_, AppState>,
    enterprise_id: String,
) -> Result<Vec<InspectionSummary>, IpcError> {
    Ok(state
        .store()?
        .inspection_list(state.jurisdiction().as_deref(), &enterprise_id)?)
}

/// Starts an inspection as the enrolled user.
#[tauri::command(rename_all = "snake_case")]
pub fn start_inspection(
    state: State<'_, AppState>,
    enterprise: String,
    template_id: String,
    template_version: Option<u32>,
) -> Result<StartedInspection, IpcError> {
    let user = state.user()?;
    let store = state.store()?;
    store.enterprise_in(user.jurisdiction(), &enterprise)?;
    Ok(store.start_inspection_as(&user.actor(), &enterprise, &template_id, template_version)?)
}

/// One inspection.
#[tauri::command(rename_all = "snake_case")]
pub fn get_inspection(
    state: State<'_, AppState>,
    inspection_id: String,
) -> Result<InspectionDetail, IpcError> {
    Ok(state
        .store()?
        .inspection_in(state.jurisdiction().as_deref(), &inspection_id)?)
}

/// Applicable items in template order, with answers and photos.
#[tauri::command(rename_all = "snake_case")]
pub fn inspection_items(
    state: State<'_, AppState>,
    inspection_id: String,
) -> Result<Vec<ItemView>, IpcError> {
    Ok(state
        .store()?
        .inspection_items_in(state.jurisdiction().as_deref(), &inspection_id)?)
}

/// Records one answer; returns the updated item.
#[tauri::command(rename_all = "snake_case")]
pub fn answer_item(
    state: State<'_, AppState>,
    inspection_id: String,
    item_id: String,
    value: String,
    note: Option<String>,
) -> Result<ItemView, IpcError> {
    let store = state.store()?;
    store.check_inspection_in(state.jurisdiction().as_deref(), &inspection_id)?;
    Ok(store.answer_item(&inspection_id, &item_id, &value, note.as_deref())?)
}

/// Raw body = image bytes; headers `gridwalk-inspection-id`, `gridwalk-item-id`,
/// `gridwalk-device-time`, `gridwalk-stamp`.
#[tauri::command(rename_all = "snake_case")]
pub fn attach_photo(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<PhotoResult, IpcError> {
    let (bytes, capture) = (raw::body(&request)?, raw::capture(&request)?);
    let inspection = raw::uuid(
        raw::required(&request, "gridwalk-inspection-id")?,
        "gridwalk-inspection-id",
    )?;
    let item = raw::required(&request, "gridwalk-item-id")?;
    let (store, inspection) = (state.store()?, inspection.to_string());
    store.check_inspection_in(state.jurisdiction().as_deref(), &inspection)?;
    Ok(store.attach_photo_bytes(&inspection, item, bytes, &capture)?)
}

/// Raw body = image bytes, not tied to an item; headers `gridwalk-enterprise-id`
/// (optional), `gridwalk-device-time`, `gridwalk-stamp`.
#[tauri::command(rename_all = "snake_case")]
pub fn add_photo(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<PhotoResult, IpcError> {
    let (bytes, capture, user) = (raw::body(&request)?, raw::capture(&request)?, state.user()?);
    let enterprise = match raw::header(&request, "gridwalk-enterprise-id")?.map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(raw::uuid(v, "gridwalk-enterprise-id")?),
    };
    let store = state.store()?;
    if let Some(id) = enterprise {
        store.enterprise_in(user.jurisdiction(), &id.to_string())?;
    }
    Ok(store.add_photo_bytes(bytes, enterprise, &user.name, &capture)?)
}

/// The watermarked thumbnail of a stored photo.
#[tauri::command(rename_all = "snake_case")]
pub fn photo_thumbnail(state: State<'_, AppState>, sha256: String) -> Result<Thumbnail, IpcError> {
    Ok(state
        .store()?
        .photo_thumbnail_in(state.jurisdiction().as_deref(), &sha256)?)
}

/// Raw body = PNG; headers `gridwalk-inspection-id`, `gridwalk-signer`
/// (percent-encoded UTF-8), `gridwalk-device-time`, `gridwalk-stamp`.
#[tauri::command(rename_all = "snake_case")]
pub fn attach_signature(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> Result<SignatureResult, IpcError> {
    let (png, capture) = (raw::body(&request)?, raw::capture(&request)?);
    let inspection = raw::uuid(
        raw::required(&request, "gridwalk-inspection-id")?,
        "gridwalk-inspection-id",
    )?;
    let signer = raw::percent_decode(
        raw::required(&request, "gridwalk-signer")?,
        "gridwalk-signer",
    )?;
    let input = SignatureInput {
        png,
        signer: &signer,
        device_time: capture.device_time,
        stamp: capture.stamp,
    };
    let (store, inspection) = (state.store()?, inspection.to_string());
    store.check_inspection_in(state.jurisdiction().as_deref(), &inspection)?;
    Ok((&store.attach_signature(&inspection, &input)?).into())
}

/// Finalizes with the default deadline policy.
#[tauri::command(rename_all = "snake_case")]
pub fn finalize_inspection(
    state: State<'_, AppState>,
    inspection_id: String,
) -> Result<FinalizeOutcome, IpcError> {
    let outcome = {
        let store = state.store()?;
        store.check_inspection_in(state.jurisdiction().as_deref(), &inspection_id)?;
        store.finalize_inspection(&inspection_id, &DeadlinePolicy::default())?
    };
    // The record is queued in the outbox by the same transaction; try to send it now.
    state.kick_sync();
    Ok(outcome)
}

// ---- Hazards ----

/// Hazards of an enterprise, or of the user's jurisdiction for `enterprise_id: null`.
#[tauri::command(rename_all = "snake_case")]
pub fn list_hazards(
    state: State<'_, AppState>,
    enterprise_id: Option<String>,
    open_only: Option<bool>,
) -> Result<Vec<HazardSummary>, IpcError> {
    Ok(state.store()?.hazards_in(
        state.jurisdiction().as_deref(),
        enterprise_id.as_deref(),
        open_only.unwrap_or(false),
    )?)
}

/// One hazard with its history.
#[tauri::command(rename_all = "snake_case")]
pub fn get_hazard(state: State<'_, AppState>, hazard_id: String) -> Result<HazardDetail, IpcError> {
    Ok(state
        .store()?
        .hazard_in(state.jurisdiction().as_deref(), &hazard_id)?)
}

/// Records a reinspection by the enrolled user, citing photos stored with `add_photo`.
#[tauri::command(rename_all = "snake_case")]
pub fn reinspect_hazard(
    state: State<'_, AppState>,
    hazard_id: String,
    passed: bool,
    before_photo_sha256s: Vec<String>,
    after_photo_sha256s: Vec<String>,
    note: Option<String>,
) -> Result<HazardDetail, IpcError> {
    let user = state.user()?;
    let store = state.store()?;
    store.check_hazard_in(user.jurisdiction(), &hazard_id)?;
    Ok(store.reinspect_hazard_with_photos(
        &hazard_id,
        &user.name,
        passed,
        &before_photo_sha256s,
        &after_photo_sha256s,
        note.as_deref(),
    )?)
}

/// Sets or revises the hazard's 五定 plan as the enrolled user (`Store::set_hazard_plan`):
/// `deadline` YYYY-MM-DD (`hazard.bad_date`), not later than the hazard's current one
/// (`hazard.plan_deadline_later`); measures, responsible and interim measures not blank
/// (`hazard.plan_incomplete`); `funds_yuan` null when not yet budgeted.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::too_many_arguments)]
pub fn set_hazard_plan(
    state: State<'_, AppState>,
    hazard_id: String,
    measures: String,
    responsible: String,
    funds_yuan: Option<u64>,
    deadline: String,
    interim_measures: String,
) -> Result<HazardDetail, IpcError> {
    let user = state.user()?;
    let store = state.store()?;
    store.check_hazard_in(user.jurisdiction(), &hazard_id)?;
    let plan = RectificationPlan {
        measures,
        responsible,
        funds_yuan,
        deadline: parse_date(&deadline)?,
        interim_measures,
    };
    store.set_hazard_plan(&hazard_id, &user.name, &plan)?;
    Ok(store.hazard(&hazard_id)?)
}

// ---- Work from officers ----

/// The acting user's assignments (任务): open ones by due date (`all: true`: every
/// state), each with `overdue` (China date) and the enterprise's name when on the phone.
#[tauri::command(rename_all = "snake_case")]
pub fn list_assignments(
    state: State<'_, AppState>,
    all: Option<bool>,
) -> Result<Vec<AssignmentView>, IpcError> {
    let user = state.user()?;
    let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
    Ok(state
        .store()?
        .assignments_for(&user.name, all.unwrap_or(false), today)?)
}

/// The latest review of an inspection on this phone (`null` until reviewed); refused
/// outside the jurisdiction, `inspect.not_found` for an inspection not on the phone.
#[tauri::command(rename_all = "snake_case")]
pub fn get_review(
    state: State<'_, AppState>,
    inspection_id: String,
) -> Result<Option<InspectionReview>, IpcError> {
    Ok(state
        .store()?
        .inspection_in(state.jurisdiction().as_deref(), &inspection_id)?
        .review)
}
