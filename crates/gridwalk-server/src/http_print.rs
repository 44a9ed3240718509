//! `GET /v1/inspections/{id}/record.pdf` (the printable 检查记录) and the public
//! `GET /v1/verify/{sha256}` its QR code points to (docs/console.md "Printable record").
//! Thin shells over [`crate::print`].

use crate::http::{ApiError, AppState};
use crate::print::{PrintSource, VerifyAnswer};
use crate::store::Caller;
use crate::work::Actor;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use gridwalk_protocol::{Problem, ProblemCode};
use uuid::Uuid;

/// The address phones and printers reach this server at: `--public-url`, else the
/// request's `Host` (with `X-Forwarded-Proto` from a TLS front).
fn base_url(s: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &s.print.public_url {
        return u.clone();
    }
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| p.eq_ignore_ascii_case("https"))
        .map_or("http", |_| "https");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{proto}://{host}")
}

#[utoipa::path(get, path = "/v1/inspections/{id}/record.pdf",
    params(("id" = String, Path, description = "Inspection id")),
    responses((status = 200, description = "检查记录: the inspection as an A4 PDF with its findings, answers, photos, signature, record hash and a QR code of its verification URL (attachment)", content_type = "application/pdf", body = Vec<u8>),
        (status = "4XX", description = "A problem; an inspection outside the caller's jurisdiction, or a caller who is no officer or administrator, is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure; 503 when no CJK font is installed for the PDF (`--pdf-font`)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub(crate) async fn record_pdf(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = Uuid::parse_str(id.trim())
        .map_err(|_| ApiError::new(ProblemCode::NotFound, format!("no inspection {id}")))?;
    let actor = Actor::from(&caller);
    let source: PrintSource = s.run(move |st| st.print_source(&actor, id)).await?;
    let blobs = crate::print::read_blobs(s.blobs.as_ref(), &source)
        .await
        .map_err(ApiError::internal)?;
    let url = crate::print::verify_url(
        &base_url(&s, &headers),
        &source.detail.record.payload_sha256,
    );
    let config = s.print.clone();
    let printed_by = caller.user_name.clone();
    let (ascii, name) = crate::print::file_names(&source);
    let entry = crate::audit::NewEntry::by(&Actor::from(&caller), "print.record")
        .target("inspection", id)
        .detail(serde_json::json!({
            "payload_sha256": source.detail.record.payload_sha256,
        }));
    let pdf = s
        .run(move |_| {
            let font = config.font()?;
            let record = crate::print::record(&source, blobs, url, &printed_by, chrono::Utc::now());
            crate::print::render(&record, font)
        })
        .await?;
    // Logged before the record leaves; not logged, not handed out.
    s.run(move |st| st.audit_append(&entry)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                crate::export::content_disposition(&ascii, &name),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        pdf,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/verify/{sha256}",
    params(("sha256" = String, Path, description = "The record hash printed on a 检查记录 (SHA-256 of the signed payload, hex)")),
    responses((status = 200, description = "The server holds an accepted inspection record with this payload hash, received then; nothing else is revealed (the QR code is public). A browser (`Accept: text/html`, a phone that scanned the code) gets a short page saying whether it is held (200 either way)", body = VerifyAnswer),
        (status = "4XX", description = "A problem; a hash the server does not hold is 404", body = Problem, content_type = "application/problem+json"),
        (status = "5XX", description = "A server failure", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn verify(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let check = sha.clone();
    let found = s.run(move |st| st.verify_payload(&check)).await?;
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    match (found, html) {
        (Some(v), false) => Ok(Json(v).into_response()),
        (Some(v), true) => Ok(Html(page(
            "✔ 记录已核验",
            &format!(
                "服务器收存有哈希为 {} 的检查记录，接收时间 {}（UTC）。",
                v.payload_sha256, v.received_at
            ),
        ))
        .into_response()),
        // A page for the person holding the paper (every error status is a problem
        // document; a machine asks without `text/html` and gets the 404).
        (None, true) => Ok(Html(page(
            "✘ 未找到记录",
            "服务器没有收存此哈希的检查记录：打印件上的哈希可能被改动，或记录尚未同步到服务器。",
        ))
        .into_response()),
        (None, false) => Err(ApiError::new(
            ProblemCode::NotFound,
            "the server holds no accepted inspection record with this hash",
        )),
    }
}

/// A minimal page for a phone that scanned the QR code (the texts are fixed; the hash
/// shown is the server's own, lower-case hex).
fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>检查记录核验</title></head><body style=\"font-family:sans-serif;margin:2em\">\
         <h1>{title}</h1><p style=\"word-break:break-all\">{text}</p>\
         <p style=\"color:#666\">GridWalk 网格巡查</p></body></html>"
    )
}
