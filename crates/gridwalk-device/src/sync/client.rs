//! HTTP to the central server (reqwest over rustls): enrollment, push, missing photos,
//! tus uploads and pull. Every request carries the protocol header; JSON request bodies
//! are gzip-compressed; every failure becomes a [`SyncError`] with a stable code.

use super::SyncError;
use gridwalk_protocol::{
    tus, EnrollRequest, EnrollResponse, MissingPhotos, Problem, PullPage, PushRequest,
    PushResponse, PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use reqwest::{header, Method, RequestBuilder, Response, StatusCode};
use std::io::Write;
use std::time::Duration;

const TUS: &str = "Tus-Resumable";

/// A client for one server.
#[derive(Debug, Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The server's view of one tus upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOffset {
    pub offset: u64,
    pub length: Option<u64>,
}

fn classify(e: reqwest::Error) -> SyncError {
    // The innermost cause says most (connection refused, reset by peer, …).
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        SyncError::Timeout(detail)
    } else if e.is_connect() {
        SyncError::Offline(detail)
    } else {
        SyncError::Interrupted(detail)
    }
}

async fn problem(resp: Response) -> SyncError {
    let status = resp.status().as_u16();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return classify(e),
    };
    match serde_json::from_slice::<Problem>(&body) {
        Ok(p) => SyncError::Server {
            status,
            code: p.code.as_str().to_string(),
            detail: p.detail,
        },
        Err(_) => SyncError::Server {
            status,
            code: format!("http_{status}"),
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
        },
    }
}

async fn json<T: serde::de::DeserializeOwned>(resp: Response) -> Result<T, SyncError> {
    if !resp.status().is_success() {
        return Err(problem(resp).await);
    }
    let bytes = resp.bytes().await.map_err(classify)?;
    // A body cut short or garbled on the way is a network fault, not a server answer.
    serde_json::from_slice(&bytes).map_err(|e| {
        SyncError::Interrupted(format!("unreadable answer ({} bytes): {e}", bytes.len()))
    })
}

fn gzip(body: &[u8]) -> Result<Vec<u8>, SyncError> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(body)
        .and_then(|_| enc.finish())
        .map_err(|e| SyncError::Interrupted(format!("gzip: {e}")))
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl ServerClient {
    /// A client for `base` (normalised URL), with a per-request timeout.
    pub fn new(
        base: &str,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<ServerClient, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            // `timeout` bounds silence (a stalled link), not transfer time: a weak link
            // may need minutes for a batch or a chunk. The total is a last resort.
            .read_timeout(timeout)
            .timeout(timeout.saturating_mul(10).max(Duration::from_secs(300)))
            .user_agent(concat!("gridwalk-device/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Offline(format!("HTTP client: {e}")))?;
        Ok(ServerClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
        })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    fn json_body<T: serde::Serialize>(
        rb: RequestBuilder,
        body: &T,
    ) -> Result<RequestBuilder, SyncError> {
        let raw = serde_json::to_vec(body)
            .map_err(|e| SyncError::Interrupted(format!("encode request: {e}")))?;
        Ok(rb
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_ENCODING, "gzip")
            .body(gzip(&raw)?))
    }

    /// `POST /v1/enroll`.
    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, SyncError> {
        let rb = Self::json_body(self.request(Method::POST, "/v1/enroll"), req)?;
        json(rb.send().await.map_err(classify)?).await
    }

    /// `POST /v1/sync/push`.
    pub async fn push(&self, req: &PushRequest) -> Result<PushResponse, SyncError> {
        let rb = Self::json_body(self.request(Method::POST, "/v1/sync/push"), req)?;
        json(rb.send().await.map_err(classify)?).await
    }

    /// `GET /v1/sync/missing-photos`.
    pub async fn missing_photos(&self) -> Result<MissingPhotos, SyncError> {
        let rb = self.request(Method::GET, "/v1/sync/missing-photos");
        json(rb.send().await.map_err(classify)?).await
    }

    /// `GET /v1/sync/pull`.
    pub async fn pull(&self, cursor: &str, limit: u32) -> Result<PullPage, SyncError> {
        let rb = self
            .request(Method::GET, "/v1/sync/pull")
            .query(&[("cursor", cursor), ("limit", &limit.to_string())]);
        json(rb.send().await.map_err(classify)?).await
    }

    /// tus creation: returns the upload's URL and the server's offset (equal to the
    /// length when the server already holds the photo).
    pub async fn create_upload(
        &self,
        sha256: &str,
        length: u64,
        filename: &str,
    ) -> Result<(String, u64), SyncError> {
        let meta =
            tus::encode_metadata(&[(tus::SHA256_METADATA_KEY, sha256), ("filename", filename)]);
        let resp = self
            .request(Method::POST, "/v1/photos")
            .header(TUS, tus::TUS_VERSION)
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", meta)
            .header(header::CONTENT_LENGTH, "0")
            .send()
            .await
            .map_err(classify)?;
        if resp.status() != StatusCode::CREATED {
            return Err(problem(resp).await);
        }
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| SyncError::Interrupted("tus creation answer without Location".into()))?;
        let offset = header_u64(&resp, "Upload-Offset").unwrap_or(0);
        Ok((self.url(&location), offset))
    }

    /// tus `HEAD`: the server's offset, or `None` when the upload is gone (404/410).
    pub async fn upload_offset(&self, url: &str) -> Result<Option<UploadOffset>, SyncError> {
        let resp = self
            .request(Method::HEAD, url)
            .header(TUS, tus::TUS_VERSION)
            .send()
            .await
            .map_err(classify)?;
        match resp.status() {
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s if s.is_success() => {
                let offset = header_u64(&resp, "Upload-Offset").ok_or_else(|| {
                    SyncError::Interrupted("tus HEAD answer without Upload-Offset".into())
                })?;
                Ok(Some(UploadOffset {
                    offset,
                    length: header_u64(&resp, "Upload-Length"),
                }))
            }
            _ => Err(problem(resp).await),
        }
    }

    /// tus `DELETE` of an upload this device gives up on, best effort: the server then
    /// no longer counts it against the device's open uploads. Failures are ignored (the
    /// server's sweep expires it anyway).
    pub async fn terminate(&self, url: &str) {
        let _ = self
            .request(Method::DELETE, url)
            .header(TUS, tus::TUS_VERSION)
            .send()
            .await;
    }

    /// tus `PATCH` of one chunk at `offset`, with its sha256 checksum. Returns the new
    /// offset.
    pub async fn patch(&self, url: &str, offset: u64, chunk: Vec<u8>) -> Result<u64, SyncError> {
        let checksum = tus::chunk_checksum(&chunk);
        let resp = self
            .request(Method::PATCH, url)
            .header(TUS, tus::TUS_VERSION)
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", checksum)
            .body(chunk)
            .send()
            .await
            .map_err(classify)?;
        if resp.status() != StatusCode::NO_CONTENT && !resp.status().is_success() {
            return Err(problem(resp).await);
        }
        header_u64(&resp, "Upload-Offset")
            .ok_or_else(|| SyncError::Interrupted("tus PATCH answer without Upload-Offset".into()))
    }
}
