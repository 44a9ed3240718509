//! The officer's endpoints (docs/campaign.md): sign-in, hazard actions, reviews,
//! assignments and supervision samples. Thin shells over [`crate::work`]; every call is
//! scoped to the caller's jurisdiction (outside it: 404, as if nothing were there).

use crate::audit::NewEntry;
use crate::http::{
    bearer_token, division_in_scope, session_cookie, ApiError, ApiJson, ApiQuery, AppState,
    ClientSource,
};
use crate::sessions::{LoginError, LoginResponse};
use crate::store::Caller;
use crate::work::{
    Actor, AssignOutcome, AssignRequest, AssignmentItem, InspectionItem, ReviewRequest,
    StoredSample,
};
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// The console: keep the session in an HttpOnly `gw_session` cookie instead of
    /// answering its token (docs/console.md "Sign-in").
    #[serde(default)]
    pub session_cookie: bool,
}

/// Refuses a sign-in posted by another site (login CSRF: a hidden form that signs the
/// victim's browser in as the attacker): a JSON body is required (a plain HTML form
/// cannot send one without a CORS preflight), and a browser's `Sec-Fetch-Site` or
/// `Origin` must name this site.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(ApiError::new(
            ProblemCode::CsrfFailed,
            format!("sign-in refused: {why}"),
        ))
    };
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return refuse("the body must be sent as application/json");
    }
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return refuse("posted from another site");
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, h)| h.trim_end_matches('/'))
            .unwrap_or_default();
        if host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return refuse("posted from another origin");
        }
    }
    Ok(())
}

/// `GET /v1/session`: who is signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub user_name: String,
    pub role: String,
    pub jurisdiction: String,
    /// The session's CSRF token when it travels in the cookie.
    pub csrf_token: Option<String>,
}

/// The `Set-Cookie` value of a console session (`token` empty: the cookie is cleared).
/// `Secure` when the server speaks TLS itself (`tls`) or the request came through a TLS
/// front (`X-Forwarded-Proto: https`).
fn session_cookie_header(
    token: &str,
    headers: &HeaderMap,
    tls: bool,
) -> Result<HeaderValue, ApiError> {
    let secure = tls
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let max_age = if token.is_empty() {
        0
    } else {
        crate::password::SESSION_HOURS * 3600
    };
    HeaderValue::from_str(&format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        crate::http::SESSION_COOKIE,
        if secure { "; Secure" } else { "" }
    ))
    .map_err(ApiError::internal)
}

#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, description = "A console session (officers and admins); with `session_cookie` it is set as the `gw_session` cookie and no token is answered", body = LoginResponse),
        (status = "4XX", description = "A problem: a wrong user name or password is 401 unauthenticated (the same for both, answered more slowly after repeated failures); 429 account_locked with Retry-After after too many; 429 rate_limited with Retry-After for too many attempts a minute from one address or for one name; 401 account_disabled for a disabled user's right password", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn login(
    State(s): State<AppState>,
    ClientSource(source): ClientSource,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    refuse_cross_site(&headers)?;
    let old = session_cookie(&headers);
    let store = s.store.clone();
    let name = req.user_name.trim().to_string();
    s.rate_limits.check_login_name(&name)?;
    let attempted = name.clone();
    let outcome =
        tokio::task::spawn_blocking(move || store.login(&name, &req.password, old.as_deref()))
            .await
            .map_err(|e| ApiError::internal(format!("sign-in task failed: {e}")))?;
    // The outcome is logged before it is answered: a session is not handed out, nor a
    // refusal answered, unless its entry is stored. Never the password.
    let entry = match &outcome {
        Ok((answer, _)) => Some(NewEntry {
            actor: answer.user_name.clone(),
            actor_role: answer.role.clone(),
            source: source.clone(),
            action: "login.ok".into(),
            division: Some(answer.jurisdiction.clone()),
            target_kind: Some("user".into()),
            target_id: Some(answer.user_name.clone()),
            detail: serde_json::json!({ "session_cookie": req.session_cookie }),
        }),
        Err(LoginError::Refused { failures }) => Some(
            NewEntry::anonymous(&attempted, &source, "login.failed")
                .detail(serde_json::json!({ "failures": failures })),
        ),
        Err(LoginError::Locked { seconds }) => Some(
            NewEntry::anonymous(&attempted, &source, "login.locked")
                .detail(serde_json::json!({ "retry_after_secs": seconds })),
        ),
        Err(LoginError::Disabled) => {
            Some(NewEntry::anonymous(&attempted, &source, "login.disabled"))
        }
        Err(LoginError::Store(crate::StoreError::Problem { detail, .. })) => Some(
            NewEntry::anonymous(&attempted, &source, "login.failed")
                .detail(serde_json::json!({ "refused": detail })),
        ),
        Err(LoginError::Store(_)) => None,
    };
    if let Some(mut entry) = entry {
        s.run(move |st| {
            // A failed sign-in for a user the server has is filed under their
            // jurisdiction (their district's readers see it); for any other name, under
            // none (server-wide).
            if entry.division.is_none() {
                entry.division = st
                    .actor(&entry.actor)
                    .ok()
                    .and_then(|a| a.scope)
                    .map(|d| d.as_str().to_string());
            }
            st.audit_append(&entry)
        })
        .await?;
    }
    match outcome {
        Ok((mut answer, token)) => {
            let mut resp_headers = HeaderMap::new();
            if req.session_cookie {
                answer.token = None;
                resp_headers.insert(SET_COOKIE, session_cookie_header(&token, &headers, s.tls)?);
            }
            resp_headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok((resp_headers, Json(answer)).into_response())
        }
        Err(LoginError::Refused { failures }) => {
            let extra = (failures - crate::password::SLOW_AFTER_FAILURES)
                .clamp(0, crate::password::MAX_FAILURE_DELAY_SECS);
            tokio::time::sleep(std::time::Duration::from_secs(extra as u64)).await;
            Err(ApiError::new(
                ProblemCode::Unauthenticated,
                "wrong user name or password",
            ))
        }
        Err(LoginError::Locked { seconds }) => {
            let mut e = ApiError::new(
                ProblemCode::AccountLocked,
                format!("too many failed sign-ins for this user name; try again in {seconds} s"),
            );
            e.headers.push((RETRY_AFTER, HeaderValue::from(seconds)));
            Err(e)
        }
        Err(LoginError::Disabled) => Err(ApiError::new(
            ProblemCode::AccountDisabled,
            "this user has been disabled by an administrator",
        )),
        Err(LoginError::Store(e)) => Err(e.into()),
    }
}

#[utoipa::path(post, path = "/v1/logout",
    responses((status = 204, description = "The session has ended (and its cookie is cleared)"),
        (status = "4XX", description = "A problem", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn logout(
    State(s): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = session_cookie(&headers);
    match caller {
        Ok(caller) if caller.session => {
            let token = bearer_token(&headers)
                .or_else(|| cookie.clone())
                .unwrap_or_default();
            let entry =
                NewEntry::by(&Actor::from(&caller), "logout").target("user", &caller.user_name);
            s.run(move |st| {
                st.logout(&token)?;
                st.audit_append(&entry).map(|_| ())
            })
            .await?;
        }
        Ok(_) => {}
        // A session that already ended (idle, expired, revoked): its cookie is still
        // cleared, so the browser does not keep presenting it.
        Err(e)
            if matches!(
                e.problem.code,
                ProblemCode::Unauthenticated | ProblemCode::AccountDisabled
            ) && cookie.is_some() => {}
        Err(e) => return Err(e),
    }
    let mut resp_headers = HeaderMap::new();
    if cookie.is_some() {
        resp_headers.insert(SET_COOKIE, session_cookie_header("", &headers, s.tls)?);
    }
    Ok((StatusCode::NO_CONTENT, resp_headers).into_response())
}

#[utoipa::path(get, path = "/v1/session",
    responses((status = 200, description = "The signed-in officer or admin", body = SessionInfo),
        (status = "4XX", description = "A problem: 401 when not signed in or the session ended", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn session(caller: Caller, headers: HeaderMap) -> Result<Response, ApiError> {
    if !caller.session {
        return Err(ApiError::new(
            ProblemCode::Unauthenticated,
            "a device token is not a console session",
        ));
    }
    let csrf_token = match bearer_token(&headers) {
        Some(_) => None,
        None => session_cookie(&headers).map(|t| crate::sessions::csrf_token(&t)),
    };
    Ok((
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(SessionInfo {
            user_name: caller.user_name,
            role: caller.role.as_str().to_string(),
            jurisdiction: caller.jurisdiction.as_str().to_string(),
            csrf_token,
        }),
    )
        .into_response())
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

/// One shipped checklist template, as the console's pickers list it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateSummary {
    pub id: String,
    pub version: u32,
    pub title_zh: String,
    /// The role that fills it in (`grid_worker`, `expert`, …).
    pub role: String,
}

#[utoipa::path(get, path = "/v1/templates",
    responses((status = 200, description = "The checklist templates this server ships, the newest version of each (for assignment pickers; phones pull the full templates)", body = [TemplateSummary]),
        (status = "4XX", description = "A problem", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn templates(_caller: Caller) -> Result<Json<Vec<TemplateSummary>>, ApiError> {
    let all = gridwalk_checklist::builtin::try_builtin_templates()
        .map_err(|e| ApiError::internal(format!("shipped templates: {e}")))?;
    // The newest version of each (an assignment names a template, not a version).
    let mut newest: std::collections::BTreeMap<String, gridwalk_checklist::Template> =
        std::collections::BTreeMap::new();
    for t in all {
        if newest
            .get(&t.id)
            .is_none_or(|held| held.version < t.version)
        {
            newest.insert(t.id.clone(), t);
        }
    }
    Ok(Json(
        newest
            .into_values()
            .map(|t| TemplateSummary {
                role: serde_json::to_value(t.role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                id: t.id,
                version: t.version,
                title_zh: t.title_zh,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/inspections/{id}", params(("id" = String, Path, description = "Inspection id")),
    responses((status = 200, description = "The inspection as signed, its item labels, its place in the device's hash chain and every photo's evidence (times, stamp, on-site check, bytes held)", body = crate::evidence_view::InspectionDetail),
        (status = "4XX", description = "A problem; an inspection outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn inspection(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<crate::evidence_view::InspectionDetail>, ApiError> {
    let id = parse_id("inspection", &id)?;
    let actor = Actor::from(&caller);
    let mut detail = s.run(move |st| st.inspection_detail(&actor, id)).await?;
    crate::evidence_view::verify_photos(s.blobs.as_ref(), &mut detail)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(detail))
}

/// `GET /v1/inspections/{id}/photos/{sha256}` answers with this header: `true` when the
/// bytes served hash to the name (checked on every request).
pub const VERIFIED_HEADER: &str = "gridwalk-sha256-verified";

#[utoipa::path(get, path = "/v1/inspections/{id}/photos/{sha256}",
    params(("id" = String, Path, description = "Inspection id"), ("sha256" = String, Path, description = "A photo the inspection names, or its original, watermarked copy or thumbnail")),
    responses((status = 200, description = "The photo's bytes, re-hashed as they are read (`Gridwalk-Sha256-Verified`)", content_type = "image/jpeg"),
        (status = "4XX", description = "A problem; a photo of no inspection in the caller's jurisdiction, or not held, is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure; bytes that no longer hash to their name are 500 and logged", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn inspection_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id("inspection", &id)?;
    let sha = sha.trim().to_ascii_lowercase();
    if !gridwalk_protocol::is_sha256_hex(&sha) {
        return Err(bad_id("photo", &sha));
    }
    let actor = Actor::from(&caller);
    let check = sha.clone();
    if !s
        .run(move |st| st.inspection_photo_allowed(&actor, id, &check))
        .await?
    {
        return Err(bad_id("photo", &sha));
    }
    verified_photo(&s, &sha).await
}

/// A held photo's bytes, re-hashed as they are read: 404 when not held, 500 (and a log
/// line) when the stored bytes no longer hash to their name.
async fn verified_photo(s: &AppState, sha: &str) -> Result<Response, ApiError> {
    use crate::evidence_view::{read_verified_photo, HeldPhoto};
    let bytes = match read_verified_photo(s.blobs.as_ref(), sha)
        .await
        .map_err(ApiError::internal)?
    {
        HeldPhoto::Verified(bytes) => bytes,
        HeldPhoto::Missing => {
            return Err(ApiError::new(
                ProblemCode::NotFound,
                format!("photo {sha} is not held by the server (not uploaded yet)"),
            ))
        }
        // Evidence: bytes that no longer are what their name promises are not served.
        HeldPhoto::Mismatch => {
            return Err(ApiError::internal(format!(
                "stored photo {sha} no longer hashes to its name"
            )))
        }
    };
    let content_type = if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "private, max-age=86400, immutable"),
            (
                axum::http::header::HeaderName::from_static(VERIFIED_HEADER),
                "true",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Query of `GET /v1/enterprises`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnterprisesQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
    /// A USCC prefix, pinyin (full or initials), or part of the name or address.
    #[serde(default)]
    pub q: Option<String>,
    /// At most this many rows (1–1000, default 200).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/enterprises", params(EnterprisesQuery),
    responses((status = 200, description = "The register of the division with confirmed facts, last visit and open hazards", body = crate::register_view::EnterprisePage),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn enterprises(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EnterprisesQuery>,
) -> Result<Json<crate::register_view::EnterprisePage>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    Ok(Json(
        s.run(move |st| {
            st.enterprise_page(&actor, &division, q.q.as_deref(), q.limit.unwrap_or(200))
        })
        .await?,
    ))
}

/// Query of `GET /v1/map`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// A division inside the caller's jurisdiction (default: all of it).
    #[serde(default)]
    pub division: Option<String>,
}

#[utoipa::path(get, path = "/v1/map", params(MapQuery),
    responses((status = 200, description = "Enterprises by status and inspections by on-site verdict, in the datum of the configured tiles", body = crate::map_view::MapView),
        (status = "4XX", description = "A problem; a division outside the caller's jurisdiction is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn map(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<MapQuery>,
) -> Result<Json<crate::map_view::MapView>, ApiError> {
    let division = division_in_scope(&caller, q.division.as_deref())?;
    let actor = Actor::from(&caller);
    let tiles = s.map_tiles.clone();
    Ok(Json(
        s.run(move |st| st.map_view(&actor, &division, tiles))
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/hazards/{id}/photos/{sha256}",
    params(("id" = String, Path, description = "Hazard id"), ("sha256" = String, Path, description = "A photo of the hazard: taken when it was found, or before/after a re-inspection")),
    responses((status = 200, description = "The photo's bytes, re-hashed as they are read (`Gridwalk-Sha256-Verified`)", content_type = "image/jpeg"),
        (status = "4XX", description = "A problem; a photo of no hazard in the caller's jurisdiction, or not held, is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure; bytes that no longer hash to their name are 500 and logged", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn hazard_photo(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id("hazard", &id)?;
    let sha = sha.trim().to_ascii_lowercase();
    let actor = Actor::from(&caller);
    // The console's photos are officers' and admins' (as the inspection's are).
    if !gridwalk_protocol::is_sha256_hex(&sha) || !actor.may_manage() {
        return Err(bad_id("photo", &sha));
    }
    let (state, _) = s.run(move |st| st.hazard_detail(&actor, id)).await?;
    let named = state.photo_sha256s.iter().chain(
        state
            .reinspections
            .iter()
            .flat_map(|r| r.before_photo_sha256s.iter().chain(&r.after_photo_sha256s)),
    );
    if !named.into_iter().any(|p| *p == sha) {
        return Err(bad_id("photo", &sha));
    }
    verified_photo(&s, &sha).await
}
