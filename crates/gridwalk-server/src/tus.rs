//! Photo uploads over tus 1.0 (core, creation, checksum with sha256, termination).
//!
//! Partial data lives in `uploads/<id>` on local disk. A chunk is written as it arrives
//! and counts whole-chunk-or-nothing: checked and fsynced before the offset moves in
//! the database; a stale tail left by a crash or a cut connection is cut off on the next
//! PATCH. When the offset reaches the length the file is hashed in small pieces: equal
//! to the declared SHA-256 it is copied (streamed) to the blob store as
//! `photos/<sha256>`, otherwise the upload is discarded. No upload is held in memory
//! whole. Unfinished uploads are capped per device and expired by a sweep
//! ([`UploadLimits`], [`sweep_uploads`]).

use crate::http::{ApiError, AppState};
use crate::store::{Caller, Upload};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::Router;
use base64::Engine;
use futures::StreamExt;
use gridwalk_protocol::tus::{parse_metadata, SHA256_METADATA_KEY, TUS_EXTENSIONS, TUS_VERSION};
use gridwalk_protocol::{is_sha256_hex, ProblemCode, MAX_CHUNK_BYTES, MAX_PHOTO_BYTES};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
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
    crate::http::DeviceCaller(caller): crate::http::DeviceCaller,
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
    let (max_open, max_bytes) = (
        s.upload_limits.max_open_per_device,
        s.upload_limits.max_open_bytes_per_device,
    );
    let upload = s
        .run(move |st| st.create_upload(&caller, &sha, length, &metadata, max_open, max_bytes))
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
    crate::http::DeviceCaller(caller): crate::http::DeviceCaller,
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

/// The body of a PATCH as a stream of data frames.
type ChunkStream = axum::body::BodyDataStream;

/// `PATCH /v1/photos/{id}`: receives one chunk. Whatever the answer, the rest of the
/// request body (up to one chunk's size) is read first: an answer sent while the client
/// is still writing makes the connection close under it, and the client may then never
/// see the answer (a reset instead of a 404 or 409).
async fn patch_chunk(
    State(s): State<AppState>,
    caller: Result<crate::http::DeviceCaller, ApiError>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let mut body = body.into_data_stream();
    let answer = match caller {
        Ok(crate::http::DeviceCaller(caller)) => {
            receive_chunk(&s, caller, &id, &parts.headers, &mut body).await
        }
        Err(e) => Err(e),
    };
    drain_unread(&mut body).await;
    answer
}

/// Reads and drops what is left of a request body, at most one chunk's worth: a client
/// that sends more (or stalls, which the body time-out ends) gets its connection closed.
async fn drain_unread(body: &mut ChunkStream) {
    let mut drained: usize = 0;
    while drained <= MAX_CHUNK_BYTES {
        match body.next().await {
            Some(Ok(data)) => drained += data.len(),
            Some(Err(_)) | None => return,
        }
    }
}

async fn receive_chunk(
    s: &AppState,
    caller: Caller,
    id: &str,
    headers: &HeaderMap,
    body: &mut ChunkStream,
) -> Result<Response, ApiError> {
    require_tus(headers)?;
    if header_str(headers, &header::CONTENT_TYPE) != Some("application/offset+octet-stream") {
        return Err(ApiError::new(
            ProblemCode::UnsupportedMediaType,
            "PATCH needs Content-Type: application/offset+octet-stream",
        ));
    }
    let id = parse_id(id)?;
    let claimed = header_str(headers, &UPLOAD_OFFSET)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::new(
                ProblemCode::UploadOffsetMismatch,
                "Upload-Offset missing or not a number",
            )
        })?;
    let checksum = match header_str(headers, &HeaderName::from_static("upload-checksum")) {
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
    // Authorise first: only an upload of this device gets a lock entry.
    load(s, caller.clone(), id).await?;
    let _guard = s.upload_locks.lock(id).await;
    let upload = load(s, caller, id).await?;
    if upload.completed {
        return if claimed == upload.length {
            Ok(offset_response(upload.length))
        } else {
            Err(offset_mismatch(upload.offset, claimed))
        };
    }
    if upload.offset == upload.length {
        // A crash after the last chunk and before verification: finish now.
        finish(s, &upload).await?;
        return Ok(offset_response(upload.length));
    }
    if claimed != upload.offset {
        return Err(offset_mismatch(upload.offset, claimed));
    }
    let path = staging_path(s, id);
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
    // The chunk goes to disk as it arrives (no chunk held in memory) and counts only once
    // whole, checked and synced: the offset moves after that, so a chunk cut short or
    // refused leaves a tail the next PATCH cuts off.
    let mut received: u64 = 0;
    let mut hasher = checksum.as_ref().map(|_| Sha256::new());
    while let Some(frame) = body.next().await {
        let data = frame.map_err(|e| {
            ApiError::new(
                ProblemCode::MalformedBody,
                format!("the chunk ended early after {received} bytes: {e}"),
            )
        })?;
        received += data.len() as u64;
        if received > MAX_CHUNK_BYTES as u64 {
            return Err(ApiError::new(
                ProblemCode::BodyTooLarge,
                format!("chunks are limited to {MAX_CHUNK_BYTES} bytes"),
            ));
        }
        if upload.offset + received > upload.length {
            return Err(ApiError::new(
                ProblemCode::UploadLengthInvalid,
                format!(
                    "chunk would end past Upload-Length {} (at {} or later)",
                    upload.length,
                    upload.offset + received
                ),
            ));
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&data);
        }
        file.write_all(&data)
            .await
            .map_err(io_err("write upload file"))?;
    }
    if let (Some(expected), Some(h)) = (checksum, hasher) {
        if h.finalize().as_slice() != expected.as_slice() {
            let _ = file.set_len(upload.offset).await;
            return Err(ApiError::new(
                ProblemCode::ChecksumMismatch,
                "the chunk's SHA-256 differs; nothing was stored",
            ));
        }
    }
    file.sync_data().await.map_err(io_err("sync upload file"))?;
    drop(file);
    let new_offset = upload.offset + received;
    let from = upload.offset;
    if received > 0
        && !s
            .run(move |st| st.advance_upload(id, from, new_offset))
            .await?
    {
        return Err(offset_mismatch(from, claimed));
    }
    if new_offset == upload.length {
        finish(s, &upload).await?;
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

/// Photos up to this size go to the blob store in one `put`; larger ones in parts.
const WHOLE_PUT_MAX: u64 = 8 * 1024 * 1024;
/// Part size of a multipart blob write (S3's minimum).
const PART_BYTES: usize = 5 * 1024 * 1024;
/// Read buffer for hashing and copying a staged upload.
const READ_BUF: usize = 256 * 1024;

/// The SHA-256 (hex) and size of a file, read in small pieces.
async fn hash_file(path: &std::path::Path) -> Result<(String, u64), ApiError> {
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(io_err("open upload file"))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_BUF];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await.map_err(io_err("read upload file"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

/// Copies a staged file into the blob store without holding it in memory (one part
/// in flight at a time).
async fn store_blob(
    s: &AppState,
    path: &std::path::Path,
    key: &object_store::path::Path,
    size: u64,
) -> Result<(), ApiError> {
    let blob_err = |e: object_store::Error| ApiError::internal(format!("blob store: {e}"));
    if size <= WHOLE_PUT_MAX {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(io_err("read upload file"))?;
        s.blobs.put(key, bytes.into()).await.map_err(blob_err)?;
        return Ok(());
    }
    let upload = s.blobs.put_multipart(key).await.map_err(blob_err)?;
    let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(io_err("open upload file"))?;
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = match f.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                let _ = writer.abort().await;
                return Err(io_err("read upload file")(e));
            }
        };
        if n == 0 {
            break;
        }
        if let Err(e) = writer.wait_for_capacity(1).await {
            return Err(blob_err(e));
        }
        writer.write(&buf[..n]);
    }
    writer.finish().await.map_err(blob_err)?;
    Ok(())
}

/// Verifies a fully received upload and moves it into the blob store (unless the
/// same bytes are held already), streaming: no upload is ever read whole into memory.
async fn finish(s: &AppState, upload: &Upload) -> Result<(), ApiError> {
    let path = staging_path(s, upload.id);
    let (actual, size) = hash_file(&path).await?;
    let id = upload.id;
    if actual != upload.sha256 || size != upload.length {
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
    let sha = actual.clone();
    let held = s.run(move |st| st.blob_held(&sha)).await?;
    if !held {
        let key = object_store::path::Path::from(format!("photos/{actual}"));
        store_blob(s, &path, &key, size).await?;
    }
    let sha = actual.clone();
    s.run(move |st| st.complete_upload(id, &sha, size)).await?;
    s.metrics.observe_photo(size);
    let _ = tokio::fs::remove_file(&path).await;
    tracing::info!(upload = %id, sha256 = %actual, size, "photo verified");
    Ok(())
}

async fn terminate(
    State(s): State<AppState>,
    headers: HeaderMap,
    crate::http::DeviceCaller(caller): crate::http::DeviceCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_tus(&headers)?;
    let id = parse_id(&id)?;
    load(&s, caller.clone(), id).await?;
    // Waits for a PATCH in progress: its file is not left behind as an orphan.
    let _guard = s.upload_locks.lock(id).await;
    let upload = load(&s, caller, id).await?;
    let id = upload.id;
    s.run(move |st| st.delete_upload(id)).await?;
    let _ = tokio::fs::remove_file(staging_path(&s, id)).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Caps and expiry of unfinished uploads (`docs/server.md`, "Device trust").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLimits {
    /// Unfinished uploads one device may hold.
    pub max_open_per_device: u64,
    /// Bytes one device may have declared in its unfinished uploads.
    pub max_open_bytes_per_device: u64,
    /// An unfinished upload with no chunk for this long is deleted by the sweep.
    pub expire_after: std::time::Duration,
    /// How often the sweep runs.
    pub sweep_every: std::time::Duration,
}

impl Default for UploadLimits {
    /// 16 uploads and 256 MiB (four photos of the largest size) per device; expiry
    /// after 7 days without a chunk (a phone may stay out of signal for days); a sweep
    /// every hour.
    fn default() -> Self {
        UploadLimits {
            max_open_per_device: 16,
            max_open_bytes_per_device: 4 * MAX_PHOTO_BYTES,
            expire_after: std::time::Duration::from_secs(7 * 24 * 3600),
            sweep_every: std::time::Duration::from_secs(3600),
        }
    }
}

/// One async lock per upload, held by a PATCH or DELETE of it. Entries exist only
/// while a request holds or waits for one, so the table does not grow with requests.
#[derive(Clone, Default)]
pub struct UploadLocks(Arc<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>>);

/// A held upload lock; dropping it removes the entry when nobody else waits.
pub struct UploadGuard {
    locks: UploadLocks,
    id: Uuid,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl UploadLocks {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>> {
        // The table holds no invariant a panic could break: recover from poisoning.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the lock of upload `id`.
    pub async fn lock(&self, id: Uuid) -> UploadGuard {
        let m = self.table().entry(id).or_default().clone();
        let guard = m.lock_owned().await;
        UploadGuard {
            locks: self.clone(),
            id,
            guard: Some(guard),
        }
    }

    /// The lock of upload `id` if nobody holds it now.
    pub fn try_lock(&self, id: Uuid) -> Option<UploadGuard> {
        let m = self.table().entry(id).or_default().clone();
        let guard = m.try_lock_owned().ok();
        let out = UploadGuard {
            locks: self.clone(),
            id,
            guard,
        };
        // Dropped at once (removing the entry if unused) when the lock was busy.
        out.guard.is_some().then_some(out)
    }

    /// Drops entries nobody holds or waits for (left when a waiting request was
    /// cancelled between its holder's release and its own turn).
    pub fn prune(&self) {
        self.table().retain(|_, m| Arc::strong_count(m) > 1);
    }

    /// Entries in the table (uploads being written, deleted or waited for).
    pub fn len(&self) -> usize {
        self.table().len()
    }

    /// True when no upload is locked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut table = self.locks.table();
        if table
            .get(&self.id)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            table.remove(&self.id);
        }
    }
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Unfinished uploads expired (row and partial file).
    pub expired: usize,
    /// Partial files no unfinished upload owns (left by a crash or an older version).
    pub orphan_files: usize,
}

/// Deletes unfinished uploads idle for longer than `expire_after`, and partial files no
/// unfinished upload owns. An upload being written now is left alone.
pub async fn sweep_uploads(s: &AppState) -> Result<SweepReport, ApiError> {
    let mut report = SweepReport::default();
    let expire =
        chrono::Duration::from_std(s.upload_limits.expire_after).unwrap_or(chrono::Duration::MAX);
    let before = chrono::Utc::now()
        .checked_sub_signed(expire)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    for id in s.run(move |st| st.stale_uploads(before)).await? {
        let Some(_guard) = s.upload_locks.try_lock(id) else {
            continue;
        };
        // Still idle now that it is locked (a PATCH may have moved it meanwhile)?
        if !s.run(move |st| st.delete_stale_upload(id, before)).await? {
            continue;
        }
        let _ = tokio::fs::remove_file(staging_path(s, id)).await;
        tracing::info!(upload = %id, "stale upload expired");
        report.expired += 1;
    }
    s.upload_locks.prune();
    // Files first, then the open uploads: a file listed already had its row by then.
    let mut files = Vec::new();
    let mut dir = tokio::fs::read_dir(&s.uploads_dir)
        .await
        .map_err(io_err("list uploads"))?;
    while let Some(entry) = dir.next_entry().await.map_err(io_err("list uploads"))? {
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| Uuid::parse_str(n).ok())
        {
            files.push(id);
        }
    }
    let open = s.run(|st| st.open_uploads()).await?;
    for id in files.into_iter().filter(|id| !open.contains(id)) {
        let Some(_guard) = s.upload_locks.try_lock(id) else {
            continue;
        };
        if tokio::fs::remove_file(staging_path(s, id)).await.is_ok() {
            tracing::info!(upload = %id, "orphan upload file removed");
            report.orphan_files += 1;
        }
    }
    Ok(report)
}

/// Runs [`sweep_uploads`] every `sweep_every` until the runtime stops.
pub fn spawn_sweeper(s: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(s.upload_limits.sweep_every);
        loop {
            tick.tick().await;
            match sweep_uploads(&s).await {
                Ok(r) if r != SweepReport::default() => {
                    tracing::info!(
                        expired = r.expired,
                        orphan_files = r.orphan_files,
                        "upload sweep"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(problem = ?e.problem, "upload sweep failed"),
            }
        }
    })
}
