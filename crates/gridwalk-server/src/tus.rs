//! Photo uploads over tus 1.0 (core, creation, checksum with sha256, termination).
//!
//! Partial data lives in the blob store (local files or S3, [`crate::blobs`]), each
//! chunk its own object `uploads/<id>/<start>-<nonce>`, so any replica of the server
//! can resume an upload another one started. A chunk is streamed into its object as it
//! arrives and counts whole-chunk-or-nothing: once the object is written (and its
//! checksum matched), the offset moves in the database by compare-and-set together with
//! a row naming the object (`upload_part`). A request that loses that race (another
//! PATCH at the same offset, here or on another replica) deletes its object and answers
//! 409; an object left by a replica killed mid-chunk is never a part, and is deleted
//! with the upload's other objects when it completes, is deleted or expires.
//! When the offset reaches the length the parts are streamed, in order, through
//! SHA-256 into `photos/<sha256>` (a multipart write for large photos): equal to the
//! declared hash the write is completed, otherwise aborted and the upload discarded.
//! No upload is held in memory whole. Unfinished uploads are capped per device and
//! expired by a sweep ([`UploadLimits`], [`sweep_uploads`]).

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
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
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

/// The folder of an upload's chunk objects.
fn upload_prefix(id: Uuid) -> ObjectPath {
    ObjectPath::from(format!("uploads/{id}"))
}

/// A new object for the chunk starting at `start` (zero-padded, so listings sort by
/// offset; the nonce keeps two writers of the same offset apart).
fn chunk_key(id: Uuid, start: u64) -> ObjectPath {
    ObjectPath::from(format!(
        "uploads/{id}/{start:020}-{}",
        Uuid::new_v4().simple()
    ))
}

fn blob_err(what: &str) -> impl FnOnce(object_store::Error) -> ApiError + '_ {
    move |e| ApiError::internal(format!("blob store, {what}: {e}"))
}

/// On a local blob store, fsyncs the file of `key` and its directory, so that what the
/// database is about to count survives a power cut (S3 acknowledges durable writes).
async fn sync_local(s: &AppState, key: &ObjectPath) -> Result<(), ApiError> {
    let Some(root) = s.blob_dir.clone() else {
        return Ok(());
    };
    let path = root.join(key.as_ref());
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::File::open(&path)?.sync_all()?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("fsync {key}: {e}")))
}

/// Deletes every object under `uploads/<id>/` (parts, and chunks that never became
/// one); best effort, the sweep retries what is left.
async fn delete_upload_objects(blobs: &dyn ObjectStore, id: Uuid) -> usize {
    let prefix = upload_prefix(id);
    let keys: Vec<ObjectPath> = blobs
        .list(Some(&prefix))
        .filter_map(|m| async move { m.ok().map(|m| m.location) })
        .collect()
        .await;
    let mut deleted = 0;
    for key in keys {
        match blobs.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
            Err(e) => tracing::warn!(%key, "cannot delete upload chunk: {e}"),
        }
    }
    deleted
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
    let upload = load(s, caller.clone(), id).await?;
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
    // The chunk is streamed into its own object as it arrives (at most one buffer of
    // CHUNK_BUFFER held) and counts only once whole and checked: the offset moves
    // after that, so a chunk cut short or refused is never part of the upload.
    let key = chunk_key(id, upload.offset);
    let mut writer = object_store::buffered::BufWriter::with_capacity(
        s.blobs.clone(),
        key.clone(),
        CHUNK_BUFFER,
    );
    let received = match write_chunk(&upload, checksum, body, &mut writer).await {
        Ok(n) => n,
        Err(e) => {
            let _ = writer.abort().await;
            return Err(e);
        }
    };
    if received == 0 {
        let _ = writer.abort().await;
        return Ok(offset_response(upload.offset));
    }
    writer
        .shutdown()
        .await
        .map_err(|e| ApiError::internal(format!("blob store, writing the chunk: {e}")))?;
    sync_local(s, &key).await?;
    let new_offset = upload.offset + received;
    let from = upload.offset;
    let part = key.to_string();
    if !s
        .run(move |st| st.advance_upload(id, from, new_offset, &part))
        .await?
    {
        // Another request (maybe on another replica) moved the upload first: this
        // chunk is not part of it.
        let _ = s.blobs.delete(&key).await;
        let now = load(s, caller, id).await.map(|u| u.offset).unwrap_or(from);
        return Err(offset_mismatch(now, claimed));
    }
    if new_offset == upload.length {
        finish(s, &upload).await?;
    }
    Ok(offset_response(new_offset))
}

/// Streams a PATCH body into `writer`, checking the chunk's limits and its
/// `Upload-Checksum`; the number of bytes written.
async fn write_chunk(
    upload: &Upload,
    checksum: Option<Vec<u8>>,
    body: &mut ChunkStream,
    writer: &mut object_store::buffered::BufWriter,
) -> Result<u64, ApiError> {
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
        writer
            .put(data)
            .await
            .map_err(blob_err("writing the chunk"))?;
    }
    if let (Some(expected), Some(h)) = (checksum, hasher) {
        if h.finalize().as_slice() != expected.as_slice() {
            return Err(ApiError::new(
                ProblemCode::ChecksumMismatch,
                "the chunk's SHA-256 differs; nothing was stored",
            ));
        }
    }
    Ok(received)
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
/// A chunk up to this size is written to its object in one `put`; a larger one in
/// parts of this size (S3's minimum part size).
const CHUNK_BUFFER: usize = PART_BYTES;

/// Where the verified bytes go while the parts are read.
enum Sink {
    /// The photo is held already: only hash.
    None,
    /// Small: gathered, then put once the hash matched.
    Whole(Vec<u8>),
    /// Large: written in parts, completed once the hash matched, else aborted.
    Parts(object_store::WriteMultipart),
}

/// Reads an upload's parts in order through SHA-256 into `sink`: the hex digest and
/// the size. The parts must cover the upload from byte 0 without gaps.
async fn hash_parts(
    s: &AppState,
    upload: &Upload,
    sink: &mut Sink,
) -> Result<(String, u64), ApiError> {
    let id = upload.id;
    let parts = s.run(move |st| st.upload_parts(id)).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for (start, length, key) in parts {
        if start != size {
            return Err(ApiError::internal(format!(
                "upload {id}: part at {start}, expected one at {size}"
            )));
        }
        let key = ObjectPath::from(key);
        let mut stream = s
            .blobs
            .get(&key)
            .await
            .map_err(blob_err("reading a chunk"))?
            .into_stream();
        let mut read = 0u64;
        while let Some(data) = stream.next().await {
            let data = data.map_err(blob_err("reading a chunk"))?;
            read += data.len() as u64;
            hasher.update(&data);
            match sink {
                Sink::None => {}
                Sink::Whole(buf) => buf.extend_from_slice(&data),
                Sink::Parts(w) => {
                    w.wait_for_capacity(1)
                        .await
                        .map_err(blob_err("writing the photo"))?;
                    w.write(&data);
                }
            }
        }
        if read != length {
            return Err(ApiError::internal(format!(
                "upload {id}: chunk {key} holds {read} bytes, {length} were received"
            )));
        }
        size += length;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((hex, size))
}

/// Verifies a fully received upload and moves it into the blob store as
/// `photos/<sha256>` (unless the same bytes are held already), streaming the parts
/// through the hash once: no upload is ever read whole into memory, and the photo
/// becomes visible only when its hash matched.
async fn finish(s: &AppState, upload: &Upload) -> Result<(), ApiError> {
    let id = upload.id;
    let sha = upload.sha256.clone();
    let held = s.run(move |st| st.blob_held(&sha)).await?;
    let key = ObjectPath::from(format!("photos/{}", upload.sha256));
    let mut sink = if held {
        Sink::None
    } else if upload.length <= WHOLE_PUT_MAX {
        Sink::Whole(Vec::with_capacity(upload.length as usize))
    } else {
        let multipart = s
            .blobs
            .put_multipart(&key)
            .await
            .map_err(blob_err("writing the photo"))?;
        Sink::Parts(object_store::WriteMultipart::new_with_chunk_size(
            multipart, PART_BYTES,
        ))
    };
    let hashed = hash_parts(s, upload, &mut sink).await;
    let (actual, size) = match hashed {
        Ok(v) => v,
        Err(e) => {
            if let Sink::Parts(w) = sink {
                let _ = w.abort().await;
            }
            return Err(e);
        }
    };
    if actual != upload.sha256 || size != upload.length {
        if let Sink::Parts(w) = sink {
            let _ = w.abort().await;
        }
        s.run(move |st| st.delete_upload(id)).await?;
        delete_upload_objects(s.blobs.as_ref(), id).await;
        tracing::warn!(upload = %id, declared = %upload.sha256, %actual, "upload discarded: hash mismatch");
        return Err(ApiError::new(
            ProblemCode::PhotoHashMismatch,
            format!(
                "declared {}, received {actual}; the upload was discarded",
                upload.sha256
            ),
        ));
    }
    match sink {
        Sink::None => {}
        Sink::Whole(buf) => {
            s.blobs
                .put(&key, buf.into())
                .await
                .map_err(blob_err("writing the photo"))?;
        }
        Sink::Parts(w) => {
            w.finish().await.map_err(blob_err("writing the photo"))?;
        }
    }
    if !held {
        sync_local(s, &key).await?;
    }
    let sha = actual.clone();
    s.run(move |st| st.complete_upload(id, &sha, size)).await?;
    s.metrics.observe_photo(size);
    delete_upload_objects(s.blobs.as_ref(), id).await;
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
    delete_upload_objects(s.blobs.as_ref(), id).await;
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
    /// Unfinished uploads expired (row and chunks).
    pub expired: usize,
    /// Uploads no longer open whose chunk objects were left (by a crash, a replica
    /// killed mid-chunk, or a request that lost a race) and are now removed.
    pub orphan_files: usize,
}

/// Deletes unfinished uploads idle for longer than `expire_after`, and chunk objects
/// no unfinished upload owns. An upload being written now is left alone.
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
        delete_upload_objects(s.blobs.as_ref(), id).await;
        tracing::info!(upload = %id, "stale upload expired");
        report.expired += 1;
    }
    s.upload_locks.prune();
    // Objects first, then the open uploads: an upload whose chunk is listed already
    // had its row by then. Chunks of open uploads are left alone (one being written on
    // another replica may be about to become a part).
    let listing = s
        .blobs
        .list_with_delimiter(Some(&ObjectPath::from("uploads")))
        .await
        .map_err(blob_err("listing uploads"))?;
    let folders: Vec<Uuid> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().and_then(|n| Uuid::parse_str(n).ok()))
        .collect();
    let open = s.run(|st| st.open_uploads()).await?;
    for id in folders.into_iter().filter(|id| !open.contains(id)) {
        let Some(_guard) = s.upload_locks.try_lock(id) else {
            continue;
        };
        let n = delete_upload_objects(s.blobs.as_ref(), id).await;
        if n > 0 {
            tracing::info!(upload = %id, objects = n, "orphan upload chunks removed");
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
