//! Photo uploads over tus 1.0 (core, creation, checksum with sha256, termination).
//!
//! Partial data lives in `uploads/<id>` on local disk, written whole-chunk-or-nothing
//! and fsynced before the offset moves in the database; a stale tail left by a crash is
//! cut off on the next PATCH. When the offset reaches the length the whole file is
//! hashed: equal to the declared SHA-256 it goes to the blob store as
//! `photos/<sha256>`, otherwise the upload is discarded.

use crate::http::{ApiError, AppState};
use crate::store::{Caller, Upload};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::Router;
use base64::Engine;
use gridwalk_protocol::tus::{parse_metadata, SHA256_METADATA_KEY, TUS_EXTENSIONS, TUS_VERSION};
use gridwalk_protocol::{is_sha256_hex, sha256_hex, ProblemCode, MAX_CHUNK_BYTES, MAX_PHOTO_BYTES};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");

/// The tus routes (`/v1/photos`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/photos", post(create).options(options))
        .route(
            "/v1/photos/{id}",
            patch(patch_chunk).head(head).delete(terminate),
        )
        .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            TUS_RESUMABLE,
            HeaderValue::from_static(TUS_VERSION),
        ))
}

fn header_str<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn require_tus(h: &HeaderMap) -> Result<(), ApiError> {
    if header_str(h, &TUS_RESUMABLE) == Some(TUS_VERSION) {
        return Ok(());
    }
    let mut e = ApiError::new(
        ProblemCode::TusVersionUnsupported,
        format!("send Tus-Resumable: {TUS_VERSION}"),
    );
    e.headers.push((
        HeaderName::from_static("tus-version"),
        HeaderValue::from_static(TUS_VERSION),
    ));
    Err(e)
}

fn num(v: u64) -> HeaderValue {
    HeaderValue::from(v)
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::new(ProblemCode::NotFound, "no such upload"))
}

fn staging_path(s: &AppState, id: Uuid) -> PathBuf {
    s.uploads_dir.join(id.to_string())
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> ApiError + '_ {
    move |e| ApiError::internal(format!("{what}: {e}"))
}

async fn options() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (
                HeaderName::from_static("tus-version"),
                HeaderValue::from_static(TUS_VERSION),
            ),
            (
                HeaderName::from_static("tus-extension"),
                HeaderValue::from_static(TUS_EXTENSIONS),
            ),
            (
                HeaderName::from_static("tus-checksum-algorithm"),
                HeaderValue::from_static("sha256"),
            ),
            (
                HeaderName::from_static("tus-max-size"),
                num(MAX_PHOTO_BYTES),
            ),
        ],
    )
        .into_response()
}

async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(ApiError::new(
            ProblemCode::UploadLengthInvalid,
            "Upload-Defer-Length is not supported",
        ));
    }
    let length = header_str(&headers, &UPLOAD_LENGTH)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::UploadLengthInvalid,
                "Upload-Length missing or not a number",
            )
        })?;
    if length == 0 || length > MAX_PHOTO_BYTES {
        let mut e = ApiError::new(
            ProblemCode::UploadLengthInvalid,
            format!("Upload-Length must be 1 to {MAX_PHOTO_BYTES} bytes"),
        );
        if length > MAX_PHOTO_BYTES {
            e.problem.status = 413;
        }
        return Err(e);
    }
    let metadata = header_str(&headers, &UPLOAD_METADATA)
        .unwrap_or("")
        .to_string();
    let pairs =
        parse_metadata(&metadata).map_err(|e| ApiError::new(ProblemCode::MalformedBody, e))?;
    let sha = pairs
        .iter()
        .find(|(k, _)| k == SHA256_METADATA_KEY)
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .filter(|v| is_sha256_hex(v))
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::MalformedBody,
                "Upload-Metadata must carry 'sha256' (base64 of the photo's hex SHA-256)",
            )
        })?;
    let c = caller.clone();
    let sha2 = sha.clone();
    if !s.run(move |st| st.photo_referenced(&c, &sha2)).await? {
        return Err(ApiError::new(
            ProblemCode::PhotoNotReferenced,
            format!(
                "no accepted record of this device references photo {sha}; push the record first"
            ),
        ));
    }
    let upload = s
        .run(move |st| st.create_upload(&caller, &sha, length, &metadata))
        .await?;
    tracing::info!(upload = %upload.id, sha256 = %upload.sha256, length, held = upload.completed, "upload created");
    let location = format!("/v1/photos/{}", upload.id);
    Ok((
        StatusCode::CREATED,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(&location).map_err(ApiError::internal)?,
            ),
            (UPLOAD_OFFSET, num(upload.offset)),
        ],
    )
        .into_response())
}

async fn load(s: &AppState, caller: Caller, id: Uuid) -> Result<Upload, ApiError> {
    s.run(move |st| st.upload(&caller, id)).await
}

async fn head(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    let upload = load(&s, caller, parse_id(&id)?).await?;
    let mut resp = (
        StatusCode::OK,
        [
            (UPLOAD_OFFSET, num(upload.offset)),
            (UPLOAD_LENGTH, num(upload.length)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&upload.metadata) {
        if !upload.metadata.is_empty() {
            resp.headers_mut().insert(UPLOAD_METADATA, v);
        }
    }
    Ok(resp)
}

fn offset_response(offset: u64) -> Response {
    (StatusCode::NO_CONTENT, [(UPLOAD_OFFSET, num(offset))]).into_response()
}

async fn patch_chunk(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let headers = req.headers().clone();
    require_tus(&headers)?;
    if header_str(&headers, &header::CONTENT_TYPE) != Some("application/offset+octet-stream") {
        return Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            "PATCH needs Content-Type: application/offset+octet-stream",
        ));
    }
    let id = parse_id(&id)?;
    let claimed = header_str(&headers, &UPLOAD_OFFSET)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::UploadOffsetMismatch,
                "Upload-Offset missing or not a number",
            )
        })?;
    let checksum = match header_str(&headers, &HeaderName::from_static("upload-checksum")) {
        None => None,
        Some(v) => {
            let (alg, digest) = v.split_once(' ').unwrap_or((v, ""));
            if !alg.eq_ignore_ascii_case("sha256") {
                return Err(ApiError::new(
                    ProblemCode::ChecksumAlgorithmUnsupported,
                    format!("checksum algorithm '{alg}' is not supported; use sha256"),
                ));
            }
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(digest.trim())
                    .map_err(|_| {
                        ApiError::new(
                            ProblemCode::ChecksumMismatch,
                            "Upload-Checksum digest is not base64",
                        )
                    })?,
            )
        }
    };
    let lock = {
        let mut locks = s
            .upload_locks
            .lock()
            .map_err(|_| ApiError::internal("upload lock table poisoned"))?;
        locks.entry(id).or_default().clone()
    };
    let _guard = lock.lock().await;
    let upload = load(&s, caller.clone(), id).await?;
    if upload.completed {
        return if claimed == upload.length {
            Ok(offset_response(upload.length))
        } else {
            Err(offset_mismatch(upload.offset, claimed))
        };
    }
    if upload.offset == upload.length {
        // A crash after the last chunk and before verification: finish now.
        finish(&s, &upload).await?;
        return Ok(offset_response(upload.length));
    }
    if claimed != upload.offset {
        return Err(offset_mismatch(upload.offset, claimed));
    }
    let body = Bytes::from_request(req, &s).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ProblemCode::BodyTooLarge,
                format!("chunks are limited to {MAX_CHUNK_BYTES} bytes"),
            )
        } else {
            ApiError::new(ProblemCode::MalformedBody, e.body_text())
        }
    })?;
    if upload.offset + body.len() as u64 > upload.length {
        return Err(ApiError::new(
            ProblemCode::UploadLengthInvalid,
            format!(
                "chunk would end at {} past Upload-Length {}",
                upload.offset + body.len() as u64,
                upload.length
            ),
        ));
    }
    if let Some(expected) = checksum {
        if Sha256::digest(&body).as_slice() != expected.as_slice() {
            return Err(ApiError::new(
                ProblemCode::ChecksumMismatch,
                "the chunk's SHA-256 differs; nothing was stored",
            ));
        }
    }
    let path = staging_path(&s, id);
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)
        .await
        .map_err(io_err("open upload file"))?;
    file.set_len(upload.offset)
        .await
        .map_err(io_err("trim upload file"))?;
    file.seek(std::io::SeekFrom::Start(upload.offset))
        .await
        .map_err(io_err("seek upload file"))?;
    file.write_all(&body)
        .await
        .map_err(io_err("write upload file"))?;
    file.sync_data().await.map_err(io_err("sync upload file"))?;
    drop(file);
    let new_offset = upload.offset + body.len() as u64;
    let from = upload.offset;
    if !s
        .run(move |st| st.advance_upload(id, from, new_offset))
        .await?
    {
        return Err(offset_mismatch(from, claimed));
    }
    if new_offset == upload.length {
        finish(&s, &upload).await?;
    }
    Ok(offset_response(new_offset))
}

fn offset_mismatch(server: u64, claimed: u64) -> ApiError {
    let mut e = ApiError::new(
        ProblemCode::UploadOffsetMismatch,
        format!("the server has {server} bytes, the request claims {claimed}"),
    );
    e.headers.push((UPLOAD_OFFSET, num(server)));
    e
}

/// Verifies a fully received upload and moves it into the blob store.
async fn finish(s: &AppState, upload: &Upload) -> Result<(), ApiError> {
    let path = staging_path(s, upload.id);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(io_err("read upload file"))?;
    let actual = sha256_hex(&bytes);
    let id = upload.id;
    if actual != upload.sha256 || bytes.len() as u64 != upload.length {
        let _ = tokio::fs::remove_file(&path).await;
        s.run(move |st| st.delete_upload(id)).await?;
        tracing::warn!(upload = %id, declared = %upload.sha256, %actual, "upload discarded: hash mismatch");
        return Err(ApiError::new(
            ProblemCode::PhotoHashMismatch,
            format!(
                "declared {}, received {actual}; the upload was discarded",
                upload.sha256
            ),
        ));
    }
    let size = bytes.len() as u64;
    let key = object_store::path::Path::from(format!("photos/{actual}"));
    s.blobs
        .put(&key, bytes.into())
        .await
        .map_err(|e| ApiError::internal(format!("blob store: {e}")))?;
    let sha = actual.clone();
    s.run(move |st| st.complete_upload(id, &sha, size)).await?;
    let _ = tokio::fs::remove_file(&path).await;
    tracing::info!(upload = %id, sha256 = %actual, size, "photo verified");
    Ok(())
}

async fn terminate(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    let upload = load(&s, caller, parse_id(&id)?).await?;
    let id = upload.id;
    s.run(move |st| st.delete_upload(id)).await?;
    let _ = tokio::fs::remove_file(staging_path(&s, id)).await;
    if let Ok(mut locks) = s.upload_locks.lock() {
        locks.remove(&id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
