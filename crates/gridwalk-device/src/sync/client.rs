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
    /// Bytes the server holds (`Upload-Offset`).
    pub offset: u64,
    /// The declared length (`Upload-Length`), when the server sent it.
    pub length: Option<u64>,
}

/// Where upload paths start below the server's base URL (tus creation endpoint).
const UPLOADS: &str = "/v1/photos";

/// The address of a tus upload as the device keeps it: a path below the server's base
/// URL (`/v1/photos/<id>`), resolved against the client's *current* base on every use,
/// so a half-done upload survives `config set server` (the same server at a new
/// address).
///
/// A relative `Location` is resolved as tus says, against the creation URL. An absolute
/// URL — from the server, or stored by an older app version — keeps only its path,
/// whatever its host: the server is the same server at a new address. A path behind a
/// prefix (`/api/v1/photos/<id>`, from a server behind a reverse proxy) is cut to start
/// at `/v1/photos/`, because the configured base URL already carries its prefix.
pub fn upload_path(url: &str) -> String {
    let url = url.trim();
    let path = url::Url::parse(&format!("http://server.invalid{UPLOADS}"))
        .and_then(|creation| creation.join(url))
        .map(|u| u.path().to_string())
        // Not even a relative reference: keep what comes before a query or fragment.
        .unwrap_or_else(|_| url.split(['?', '#']).next().unwrap_or_default().to_string());
    let path = match path.find(&format!("{UPLOADS}/")) {
        Some(i) => &path[i..],
        None => path.as_str(),
    };
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// A rustls refusal of the server's certificate, also where an `io::Error` wraps it
/// (whose `source()` skips the wrapped error itself). The connector boxes its errors on
/// the way up, which can hide the type from a downcast, so rustls's own wording of those
/// two errors counts too (the TLS system test holds it to that).
fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    });
    if let Some(t) = tls {
        return matches!(
            t,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        );
    }
    let text = e.to_string();
    text.starts_with("invalid peer certificate") || text == "peer sent no certificates"
}

fn classify(e: reqwest::Error) -> SyncError {
    // The innermost cause says most (connection refused, reset by peer, …).
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    let mut detail = String::new();
    let mut certificate = false;
    while let Some(s) = source {
        detail = s.to_string();
        certificate |= is_certificate_error(s);
        source = s.source();
    }
    if certificate {
        SyncError::UntrustedCertificate(detail)
    } else if e.is_timeout() {
        SyncError::Timeout(detail)
    } else if e.is_connect() {
        SyncError::Offline(detail)
    } else {
        SyncError::Interrupted(detail)
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not sent by this server and is
/// ignored).
fn retry_after(resp: &Response) -> Option<Duration> {
    header_u64(resp, header::RETRY_AFTER.as_str()).map(Duration::from_secs)
}

async fn problem(resp: Response) -> SyncError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(&resp);
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return classify(e),
    };
    match serde_json::from_slice::<Problem>(&body) {
        Ok(p) => SyncError::Server {
            status,
            code: p.code.as_str().to_string(),
            detail: p.detail,
            retry_after,
        },
        Err(_) => SyncError::Server {
            status,
            code: format!("http_{status}"),
            detail: String::from_utf8_lossy(&body).chars().take(200).collect(),
            retry_after,
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

/// The certificates of a PEM bundle; an error when there is text but no certificate.
pub fn parse_ca_pem(pem: Option<&str>) -> Result<Vec<reqwest::Certificate>, SyncError> {
    let Some(pem) = pem else {
        return Ok(Vec::new());
    };
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| SyncError::BadCaCert(e.to_string()))?;
    if certs.is_empty() {
        return Err(SyncError::BadCaCert(
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        ));
    }
    Ok(certs)
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
    /// A client for `base` (normalised URL), with a per-request timeout, trusting the
    /// built-in roots and `extra_ca_pem` (PEM certificates: a server with a self-signed
    /// or private-CA certificate).
    pub fn new(
        base: &str,
        token: Option<&str>,
        timeout: Duration,
        extra_ca_pem: Option<&str>,
    ) -> Result<ServerClient, SyncError> {
        let mut builder = reqwest::Client::builder();
        for cert in parse_ca_pem(extra_ca_pem)? {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
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

    /// `path` (absolute, from the base) below the base URL.
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
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

    /// A tus request to the upload kept as `url` ([`upload_path`]), resolved against
    /// this client's base URL.
    fn upload_request(&self, method: Method, url: &str) -> RequestBuilder {
        self.request(method, &upload_path(url))
            .header(TUS, tus::TUS_VERSION)
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

    /// `POST /v1/sync/reconcile` (protocol 2).
    pub async fn reconcile(
        &self,
        req: &gridwalk_protocol::ReconcileRequest,
    ) -> Result<gridwalk_protocol::ReconcileResponse, SyncError> {
        let rb = Self::json_body(self.request(Method::POST, "/v1/sync/reconcile"), req)?;
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

    /// tus creation: returns the upload's address as the device keeps it (its path,
    /// [`upload_path`]: never the absolute URL, so the upload survives a server move) and
    /// the server's offset (equal to the length when the server already holds the photo).
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
        Ok((upload_path(&location), offset))
    }

    /// tus `HEAD`: the server's offset, or `None` when the upload is gone (404/410).
    /// `url` is resolved against this client's base ([`upload_path`]).
    pub async fn upload_offset(&self, url: &str) -> Result<Option<UploadOffset>, SyncError> {
        let resp = self
            .upload_request(Method::HEAD, url)
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
    /// server's sweep expires it anyway). `url` is resolved against this client's base
    /// ([`upload_path`]).
    pub async fn terminate(&self, url: &str) {
        let _ = self.upload_request(Method::DELETE, url).send().await;
    }

    /// tus `PATCH` of one chunk at `offset`, with its sha256 checksum, to the upload
    /// kept as `url` (resolved against this client's base, [`upload_path`]). Returns the
    /// new offset. An upload the server no longer knows is a [`SyncError::Server`] with
    /// status 404 (`not_found`) or 410.
    pub async fn patch(&self, url: &str, offset: u64, chunk: Vec<u8>) -> Result<u64, SyncError> {
        let checksum = tus::chunk_checksum(&chunk);
        let resp = self
            .upload_request(Method::PATCH, url)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_addresses_are_kept_as_paths_below_the_base() {
        let id = "/v1/photos/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        for (given, kept) in [
            // What the server sends.
            (id, id),
            (&format!(" {id} ")[..], id),
            // Relative to the creation URL, as tus allows.
            ("photos/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", id),
            ("/v1/photos/abc?x=1#f", "/v1/photos/abc"),
            // Absolute, as an older app version stored it: the path only, whatever the
            // host (the same server at a new address).
            (&format!("http://127.0.0.1:8737{id}")[..], id),
            (&format!("https://other.example.cn:8443{id}")[..], id),
            (&format!("//gw.example.cn{id}")[..], id),
            // Behind a prefix: the base URL carries the prefix.
            (&format!("https://gw.example.cn/api{id}")[..], id),
            (&format!("/api{id}")[..], id),
            // Not an upload of this protocol: the path as it is.
            ("https://gw.example.cn/uploads/7", "/uploads/7"),
        ] {
            assert_eq!(upload_path(given), kept, "{given}");
        }
    }

    #[test]
    fn kept_upload_paths_resolve_against_the_current_base() {
        let id = "/v1/photos/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let old = format!("http://127.0.0.1:8737{id}");
        for (base, url) in [
            (
                "http://localhost:9000/",
                format!("http://localhost:9000{id}"),
            ),
            (
                "https://gw.example.cn/api",
                format!("https://gw.example.cn/api{id}"),
            ),
        ] {
            let c = ServerClient::new(base, None, Duration::from_secs(1), None).expect("client");
            assert_eq!(c.url(&upload_path(&old)), url, "{base}");
            assert_eq!(c.url(&upload_path(id)), url, "{base}");
        }
    }
}
