//! The audit log's endpoints (docs/security.md "Audit log"): `GET /v1/audit` (a page of
//! entries, newest first, with filters) and `GET /v1/audit/verify` (the chain check).
//! Thin shells over [`crate::audit`]; administrators and district officers read the
//! entries filed under their jurisdiction ([`crate::audit::reader_scope`]), anyone else
//! is answered 403.

use crate::audit::{AuditFilter, AuditPage, VerifyReport};
use crate::http::{ApiError, ApiQuery, AppState};
use crate::store::Caller;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gridwalk_protocol::Problem;
use serde::Deserialize;

/// Query of `GET /v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exactly this actor (a user name, a device id, `cli:<os user>`).
    #[serde(default)]
    pub actor: Option<String>,
    /// Exactly this action (`login.failed`), or a prefix ending in `.` or `.*`
    /// (`login.*`).
    #[serde(default)]
    pub action: Option<String>,
    /// From this time (RFC 3339) or date (`YYYY-MM-DD`, China time), inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Until this time (RFC 3339, exclusive) or date (`YYYY-MM-DD`, China time, the whole
    /// day included).
    #[serde(default)]
    pub to: Option<String>,
    /// 1–500, default 100.
    #[serde(default)]
    pub limit: Option<u32>,
    /// The previous page's `next_after`: entries older than it.
    #[serde(default)]
    pub after: Option<i64>,
}

fn no_store<T: serde::Serialize>(body: T) -> Response {
    (
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(body),
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/audit", params(AuditQuery),
    responses((status = 200, description = "A page of the audit log, newest first: the entries filed under the reader's jurisdiction (a district's administrators also the server-wide ones)", body = AuditPage),
        (status = "4XX", description = "A problem; anyone but an administrator or a district officer 403 forbidden_role; a bad bound or limit 400", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let scope = crate::audit::reader_scope(caller.role, &caller.jurisdiction)?;
    let bound = |v: Option<String>, end: bool| {
        v.filter(|v| !v.trim().is_empty())
            .map(|v| crate::audit::parse_bound(&v, end))
            .transpose()
    };
    let filter = AuditFilter {
        actor: q.actor,
        action: q.action,
        from: bound(q.from, false)?,
        to: bound(q.to, true)?,
        within: Some(scope.within),
        unscoped: scope.unscoped,
        after: q.after,
        limit: q.limit,
    };
    Ok(no_store(s.run(move |st| st.audit_list(&filter)).await?))
}

#[utoipa::path(get, path = "/v1/audit/verify",
    responses((status = 200, description = "The chain check: entries, whether every entry holds its hash and names the one before, else the first broken entry and why, and the head (seq and hash) to note elsewhere", body = VerifyReport),
        (status = "4XX", description = "A problem; anyone but an administrator or a district officer 403 forbidden_role", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn verify(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    crate::audit::reader_scope(caller.role, &caller.jurisdiction)?;
    Ok(no_store(s.run(|st| st.audit_verify()).await?))
}
