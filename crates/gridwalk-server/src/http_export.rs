//! The ledgers (台账) for the officer's console: `GET /v1/exports/{hazards,inspections,
//! enterprises,tips,leases,coverage}.xlsx` (docs/exports.md), and the 厂中厂 ledger as JSON
//! (`GET /v1/leases`, docs/leases.md). A thin shell over [`Store::export_ledger`]: the
//! file is written to an unnamed temp file in the data directory (never held in memory)
//! and streamed from there; it disappears when the answer is sent or dropped.

use crate::export::{content_disposition, ExportRequest, LedgerKind, XLSX_CONTENT_TYPE};
use crate::http::{division_in_scope, ApiError, ApiQuery, AppState};
use crate::store::{Caller, Store};
use crate::work::Actor;
use crate::StoreError;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gridwalk_protocol::{Problem, ProblemCode};
use serde::Deserialize;
use std::io::Seek;

/// Query of `GET /v1/exports/*.xlsx`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
    /// A campaign id: named in the title row; only hazards found and inspections
    /// finalized within its days (default: everything, no campaign named).
    #[serde(default)]
    pub campaign: Option<String>,
    /// Hazards (and tips): only those still open after their deadline.
    #[serde(default)]
    pub overdue: Option<bool>,
    /// Inspections: `approved`, `has_issues`, `rejected` or `unreviewed`.
    #[serde(default)]
    pub review: Option<String>,
    /// Enterprises: only dust-involved ones.
    #[serde(default)]
    pub dust_involved: Option<bool>,
}

async fn export(
    s: AppState,
    caller: Caller,
    kind: LedgerKind,
    q: ExportQuery,
) -> Result<Response, ApiError> {
    if !caller.session {
        return Err(ApiError::new(
            ProblemCode::ForbiddenRole,
            "ledgers are exported from the console (an officer's or administrator's session)",
        ));
    }
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    let req = ExportRequest {
        kind,
        division,
        campaign: q.campaign,
        overdue_only: q.overdue.unwrap_or(false),
        review: q.review,
        dust_involved_only: q.dust_involved.unwrap_or(false),
    };
    // The data directory: disk-backed, unlike a tmpfs /tmp.
    let dir = s.scratch_dir.clone();
    let (file, summary) = s
        .run(move |st: &Store| {
            let mut file =
                tempfile::tempfile_in(&dir).map_err(StoreError::io("creating the ledger file"))?;
            let summary = st.export_ledger(&actor, &req, Some(&dir), &mut file)?;
            file.rewind()
                .map_err(StoreError::io("reading the ledger file"))?;
            Ok((file, summary))
        })
        .await?;
    let len = file
        .metadata()
        .map_err(|e| ApiError::internal(format!("ledger file: {e}")))?
        .len();
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_CONTENT_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&summary.ascii_file_name, &summary.file_name),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/exports/hazards.xlsx", params(ExportQuery),
    responses((status = 200, description = "隐患排查治理台账: every hazard of the division with its 五定, status and days overdue (attachment)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn hazards_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Hazards, q).await
}

#[utoipa::path(get, path = "/v1/exports/inspections.xlsx", params(ExportQuery),
    responses((status = 200, description = "检查记录台账: one row per finalized inspection with its review and record hash (attachment)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn inspections_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Inspections, q).await
}

#[utoipa::path(get, path = "/v1/exports/enterprises.xlsx", params(ExportQuery),
    responses((status = 200, description = "粉尘涉爆企业底数台账: the register with the facts visits confirmed, who confirmed them and when (attachment)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn enterprises_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Enterprises, q).await
}

#[utoipa::path(get, path = "/v1/exports/tips.xlsx", params(ExportQuery),
    responses((status = 200, description = "举报核查台账: one row per tip with its verification, outcome and reward decision; no reporter column (attachment)", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn tips_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Tips, q).await
}

#[utoipa::path(get, path = "/v1/exports/coverage.xlsx", params(ExportQuery),
    responses((status = 200, description = "专项行动进度表: per duty of the campaign (`campaign`, else the one the coverage view shows), the applicable enterprises done, not done and overdue in the division (合计) and in each child division, with the deadline at that level and the completion rate (attachment); only `division` and `campaign` apply", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction, or no campaign covering it, is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn coverage_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Coverage, q).await
}

#[utoipa::path(get, path = "/v1/exports/leases.xlsx", params(ExportQuery),
    responses((status = 200, description = "厂中厂台账: per lease, the site, landlord and tenant, the lease, the latest pre-lease check with 适租状态, and the tenant's open and overdue hazards (attachment); only `division` applies", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a device token or a grid worker's or expert's session 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn leases_xlsx(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(s, caller, LedgerKind::Leases, q).await
}

/// Query of `GET /v1/leases`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeasesQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
    /// The tenant's pre-lease status: `not_checked`, `fit` or `not_fit`; anything else 422.
    #[serde(default)]
    pub status: Option<String>,
    /// Only leases whose tenant or landlord has a hazard not closed.
    #[serde(default)]
    pub open_hazards: Option<bool>,
}

#[utoipa::path(get, path = "/v1/leases", params(LeasesQuery),
    responses((status = 200, description = "厂中厂: per site of the division, the landlord and each tenant with its lease, latest visit, pre-lease check and status, and open and overdue hazards", body = crate::lease_ledger::LeaseLedger),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404; a grid worker or expert 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn leases(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<LeasesQuery>,
) -> Result<axum::Json<crate::lease_ledger::LeaseLedger>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    let filter = crate::lease_ledger::LeaseFilter {
        status: q.status.filter(|s| !s.trim().is_empty()),
        open_hazards: q.open_hazards.unwrap_or(false),
    };
    Ok(axum::Json(
        s.run(move |st: &Store| st.lease_ledger(&actor, &division, &filter))
            .await?,
    ))
}
