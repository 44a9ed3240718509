//! The officer's endpoints (docs/campaign.md): sign-in, hazard actions, reviews,
//! assignments and supervision samples. Thin shells over [`crate::work`]; every call is
//! scoped to the caller's jurisdiction (outside it: 404, as if nothing were there).

use crate::http::{division_in_scope, ApiError, ApiJson, ApiQuery, AppState};
use crate::store::{Caller, LoginResponse};
use crate::work::{
    Actor, AssignOutcome, AssignRequest, AssignmentItem, InspectionItem, ReviewRequest,
    StoredSample,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use gridwalk_checklist::{HazardEvent, HazardEventKind, HazardState};
use gridwalk_core::{Assignment, AssignmentStatus, Review};
use gridwalk_protocol::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

fn bad_id(what: &str, id: &str) -> ApiError {
    ApiError::new(ProblemCode::NotFound, format!("no {what} {id}"))
}

fn parse_id(what: &str, id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.trim()).map_err(|_| bad_id(what, id))
}

/// `POST /v1/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub user_name: String,
    pub password: String,
}

#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, description = "A console session (officers and admins)", body = LoginResponse),
        (status = "4XX", description = "A problem; a wrong user name or password is 401 unauthenticated", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn login(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(Json(
        s.run(move |st| st.login(req.user_name.trim(), &req.password))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/logout",
    responses((status = 204, description = "The session has ended"),
        (status = "4XX", description = "A problem", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn logout(
    State(s): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, ApiError> {
    if caller.session {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        s.run(move |st| st.logout(&token)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// One event of a hazard's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HazardEventItem {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub event: HazardEvent,
    /// Why the event does not apply where it falls in the merged order (kept, marked).
    pub skipped_reason: Option<String>,
}

/// `GET /v1/hazards/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HazardDetail {
    #[schema(value_type = Object)]
    pub state: HazardState,
    pub overdue: bool,
    pub events: Vec<HazardEventItem>,
}

#[utoipa::path(get, path = "/v1/hazards/{id}", params(("id" = String, Path, description = "Hazard id")),
    responses((status = 200, description = "The hazard's state (with 五定) and every event, applied or kept and marked", body = HazardDetail),
        (status = "4XX", description = "A problem; a hazard outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn hazard(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HazardDetail>, ApiError> {
    let id = parse_id("hazard", &id)?;
    let actor = Actor::from(&caller);
    let (state, events) = s.run(move |st| st.hazard_detail(&actor, id)).await?;
    Ok(Json(HazardDetail {
        overdue: state.is_overdue_at(chrono::Utc::now()),
        state,
        events: events
            .into_iter()
            .map(|(event, skipped_reason)| HazardEventItem {
                event,
                skipped_reason,
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/v1/hazards/{id}/events", params(("id" = String, Path, description = "Hazard id")),
    request_body(content = Object, description = "A hazard event kind: {\"kind\": \"assigned\", \"to\": …}, deadline_extended, listed_supervision, reinspected, closed, reopened, plan_set (五定), rectification_started"),
    responses((status = 200, description = "The hazard's state after the action; the event reaches the phones in the pull", body = Object),
        (status = "4XX", description = "A problem: 403 forbidden_role, 409 hazard_transition, 404 outside the jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn hazard_event(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(kind): ApiJson<HazardEventKind>,
) -> Result<Json<HazardState>, ApiError> {
    let id = parse_id("hazard", &id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.hazard_action(&actor, id, kind.clone()))
            .await?,
    ))
}

/// Query of `GET /v1/inspections`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InspectionsQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
    /// `approved`, `has_issues`, `rejected` or `unreviewed`.
    #[serde(default)]
    pub review: Option<String>,
}

#[utoipa::path(get, path = "/v1/inspections", params(InspectionsQuery),
    responses((status = 200, description = "Finalized inspections of the division, newest first, with their review", body = [InspectionItem]),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn inspections(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<InspectionsQuery>,
) -> Result<Json<Vec<InspectionItem>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.inspection_list(&actor, &division, q.review.as_deref()))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/inspections/{id}/review", params(("id" = String, Path, description = "Inspection id")),
    request_body = ReviewRequest,
    responses((status = 200, description = "The review, which reaches the inspector's phone", body = Object),
        (status = "4XX", description = "A problem; an inspection outside the caller's jurisdiction is 404; a review other than approved without a comment is 422", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn review(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<Review>, ApiError> {
    let id = parse_id("inspection", &id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.review_inspection(&actor, id, &req))
            .await?,
    ))
}

/// Query of `GET /v1/assignments`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentsQuery {
    #[serde(default)]
    pub division: Option<String>,
    /// `open`, `fulfilled` or `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
}

#[utoipa::path(get, path = "/v1/assignments", params(AssignmentsQuery),
    responses((status = 200, description = "Assignments of the division, due first", body = [AssignmentItem]),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn assignments(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AssignmentsQuery>,
) -> Result<Json<Vec<AssignmentItem>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(AssignmentStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                ProblemCode::MalformedBody,
                format!("bad query: status '{s}': expected open, fulfilled or cancelled"),
            )
        })?),
    };
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.assignments(&actor, &division, status, q.assignee.as_deref()))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/assignments", request_body = AssignRequest,
    responses((status = 200, description = "The assignments made (and the enterprises whose work was already open)", body = AssignOutcome),
        (status = "4XX", description = "A problem; an enterprise, division or sample outside the caller's jurisdiction is 404; an unknown assignee or template 422", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn assign(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<Json<AssignOutcome>, ApiError> {
    let actor = Actor::from(&caller);
    Ok(Json(s.run(move |st| st.assign(&actor, &req)).await?))
}

/// `POST /v1/assignments/{id}/reassign`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReassignRequest {
    pub assignee: String,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub due: Option<NaiveDate>,
    #[serde(default)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/v1/assignments/{id}/reassign", params(("id" = String, Path, description = "Assignment id")),
    request_body = ReassignRequest,
    responses((status = 200, description = "The assignment after reassigning", body = Object),
        (status = "4XX", description = "A problem; 409 when it is no longer open", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn reassign(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReassignRequest>,
) -> Result<Json<Assignment>, ApiError> {
    let id = parse_id("assignment", &id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.reassign(&actor, id, req.assignee.trim(), req.due, req.note.clone()))
            .await?,
    ))
}

/// `POST /v1/assignments/{id}/cancel`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/v1/assignments/{id}/cancel", params(("id" = String, Path, description = "Assignment id")),
    request_body = CancelRequest,
    responses((status = 200, description = "The cancelled assignment", body = Object),
        (status = "4XX", description = "A problem; 409 when it is no longer open", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> Result<Json<Assignment>, ApiError> {
    let id = parse_id("assignment", &id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.cancel_assignment(&actor, id, &req.reason))
            .await?,
    ))
}

/// `POST /v1/samples`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SampleRequest {
    /// A town inside the caller's jurisdiction.
    pub division: String,
    pub seed: u64,
}

#[utoipa::path(post, path = "/v1/samples", request_body = SampleRequest,
    responses((status = 200, description = "The supervision sample for the town and seed (the same one again for the same seed and register)", body = StoredSample),
        (status = "4XX", description = "A problem; a town outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn draw_sample(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SampleRequest>,
) -> Result<Json<StoredSample>, ApiError> {
    let town = division_in_scope(&caller, Some(&req.division))?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.draw_sample(&actor, &town, req.seed))
            .await?,
    ))
}

/// Query of `GET /v1/samples`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SamplesQuery {
    #[serde(default)]
    pub division: Option<String>,
}

#[utoipa::path(get, path = "/v1/samples", params(SamplesQuery),
    responses((status = 200, description = "Samples drawn in the division, newest first", body = [StoredSample]),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn samples(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SamplesQuery>,
) -> Result<Json<Vec<StoredSample>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    Ok(Json(s.run(move |st| st.samples(&actor, &division)).await?))
}

#[utoipa::path(get, path = "/v1/samples/{id}", params(("id" = String, Path, description = "Sample id")),
    responses((status = 200, description = "One sample with its seed and register version", body = StoredSample),
        (status = "4XX", description = "A problem; a sample of a town outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn sample(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<StoredSample>, ApiError> {
    let id = parse_id("sample", &id)?;
    let actor = Actor::from(&caller);
    Ok(Json(s.run(move |st| st.sample(&actor, id)).await?))
}
