//! The tip-off endpoints (举报核查, docs/tips.md): thin shells over [`crate::tips`].
//! Every call is scoped to the caller's jurisdiction (outside it: 404); writes from the
//! console carry the session's CSRF token (checked by the [`Caller`] extractor).

use crate::http::{division_in_scope, ApiError, ApiJson, ApiQuery, AppState};
use crate::store::Caller;
use crate::suspected::SuspectedRequest;
use crate::tips::{
    Reporter, RewardRequest, Tip, TipEnterpriseRequest, TipRequest, TipStatus, TipSummary,
};
use crate::work::Actor;
use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridwalk_protocol::{Problem, ProblemCode};
use serde::Deserialize;
use uuid::Uuid;

fn tip_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.trim())
        .map_err(|_| ApiError::new(ProblemCode::NotFound, format!("no tip {id}")))
}

/// Query of `GET /v1/tips`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TipsQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
    /// `unassigned`, `verifying`, `verified` or `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
}

/// Query of `GET /v1/tips/summary`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TipSummaryQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
}

#[utoipa::path(post, path = "/v1/tips", request_body = TipRequest,
    responses((status = 200, description = "The tip as recorded, with its verification assignment (never the reporter)", body = Tip),
        (status = "4XX", description = "A problem: an enterprise or division outside the caller's jurisdiction is 404; an unknown assignee, a past deadline or a future received_on 422; a grid worker's or expert's token 403", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn record(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TipRequest>,
) -> Result<Json<Tip>, ApiError> {
    let actor = Actor::from(&caller);
    Ok(Json(s.run(move |st| st.record_tip(&actor, &req)).await?))
}

#[utoipa::path(get, path = "/v1/tips", params(TipsQuery),
    responses((status = 200, description = "Tips of the division, newest received first (never the reporter)", body = [Tip]),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TipsQuery>,
) -> Result<Json<Vec<Tip>>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(TipStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                ProblemCode::MalformedBody,
                format!(
                    "bad query: status '{s}': expected unassigned, verifying, verified or cancelled"
                ),
            )
        })?),
    };
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.tips(&actor, &division, status)).await?,
    ))
}

#[utoipa::path(get, path = "/v1/tips/summary", params(TipSummaryQuery),
    responses((status = 200, description = "Received, verified, pending and overdue tips, in total and per child division", body = TipSummary),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn summary(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<TipSummaryQuery>,
) -> Result<Json<TipSummary>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.tip_summary(&actor, &division)).await?,
    ))
}

#[utoipa::path(get, path = "/v1/tips/{id}", params(("id" = String, Path, description = "Tip id")),
    responses((status = 200, description = "The tip, its verification and reward decision (never the reporter; `reporter_visible` says whether the caller may read it)", body = Tip),
        (status = "4XX", description = "A problem; a tip outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Tip>, ApiError> {
    let id = tip_id(&id)?;
    let actor = Actor::from(&caller);
    Ok(Json(s.run(move |st| st.tip(&actor, id)).await?))
}

#[utoipa::path(post, path = "/v1/tips/{id}/decision", params(("id" = String, Path, description = "Tip id")),
    request_body = RewardRequest,
    responses((status = 200, description = "The tip with the reward decision", body = Tip),
        (status = "4XX", description = "A problem; a tip outside the caller's jurisdiction is 404; not verified yet 409 hazard_transition; a reward granted for an unsubstantiated tip 422", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn decision(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RewardRequest>,
) -> Result<Json<Tip>, ApiError> {
    let id = tip_id(&id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.decide_tip_reward(&actor, id, &req))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/tips/{id}/reporter", params(("id" = String, Path, description = "Tip id")),
    responses((status = 200, description = "The reporter's name and contact, for an administrator or the officer who recorded the tip; every read is logged (not cached)", body = Reporter),
        (status = "4XX", description = "A problem; a tip outside the caller's jurisdiction is 404; any other officer 403 forbidden_role", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn reporter(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = tip_id(&id)?;
    let actor = Actor::from(&caller);
    let asked = actor.clone();
    let reporter = match s.run(move |st| st.tip_reporter(&asked, id)).await {
        Ok(r) => r,
        // An officer of the tip's jurisdiction who may not see the reporter asked for
        // it: logged too (the read's own transaction rolled back with the refusal).
        Err(e) if e.problem.code == ProblemCode::ForbiddenRole => {
            let entry =
                crate::audit::NewEntry::by(&actor, "tip.reporter.refused").target("tip", id);
            s.run(move |st| st.audit_append(&entry)).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    Ok((
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(reporter),
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/tips/{id}/enterprise", params(("id" = String, Path, description = "Tip id")),
    request_body = TipEnterpriseRequest,
    responses((status = 200, description = "The tip linked to the registered enterprise, with its verification assigned", body = Tip),
        (status = "4XX", description = "A problem; a tip or enterprise outside the caller's jurisdiction is 404; a tip already assigned 409 hazard_transition; an assignee who cannot take it 422", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn link_enterprise(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TipEnterpriseRequest>,
) -> Result<Json<Tip>, ApiError> {
    let id = tip_id(&id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.link_tip_enterprise(&actor, id, &req))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/tips/{id}/suspected", params(("id" = String, Path, description = "Tip id")),
    request_body = SuspectedRequest,
    responses((status = 200, description = "The tip with its 疑似 (suspected) entry, published to the phones of the village (protocol 5)", body = Tip),
        (status = "4XX", description = "A problem; a tip outside the caller's jurisdiction is 404; a tip assigned or before the sweep already 409 hazard_transition; a division that is not a village inside the tip's 422", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn suspected(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SuspectedRequest>,
) -> Result<Json<Tip>, ApiError> {
    let id = tip_id(&id)?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| st.tip_suspected(&actor, id, &req)).await?,
    ))
}
