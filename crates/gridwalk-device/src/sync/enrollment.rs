//! Who this device is to the server: the enrollment (server address, device id, token,
//! user, server key), the device key that makes a retried enrollment safe, and the
//! `config` keys. Stored in `device_meta` under `sync.*`.

use super::SyncError;
use crate::error::StoreError;
use crate::store::{delete_meta, meta, set_meta, Store};
use gridwalk_protocol::{EnrollResponse, EnrolledUser, ServerKey};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const ENROLLMENT: &str = "sync.enrollment";
const DEVICE_KEY: &str = "sync.device_key";
const PULL_CURSOR: &str = "sync.pull_cursor";
const LAST_SUCCESS: &str = "sync.last_success_at";
const LAST_ERROR: &str = "sync.last_error";
const CLOCK_SKEW: &str = "sync.clock_skew_seconds";

/// The device's enrollment with a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    /// Base URL of the server (`https://host[:port]`, no trailing slash).
    pub server_url: String,
    /// The device id the server gave.
    pub device_id: Uuid,
    /// Bearer token (kept only here; the server stores its hash).
    pub token: String,
    /// The user the device acts for.
    pub user: EnrolledUser,
    /// The key receipts are signed with.
    pub server_key: ServerKey,
    /// When the enrollment was stored.
    pub enrolled_at: String,
    /// How the server is trusted (chosen at enrollment; absent in older enrollments).
    #[serde(default)]
    pub trust: ServerTrust,
}

/// How this device trusts its server, chosen at enrollment and kept with it
/// (docs/sync-client.md "Enrollment").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTrust {
    /// Plain `http://` to a host that is not loopback was explicitly allowed
    /// (`gridwalk enroll --allow-insecure-http`): the token and evidence cross the
    /// network in clear text. For a closed test network only.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Extra CA certificates (PEM) trusted besides the built-in roots: a server with a
    /// self-signed or private-CA certificate (`gridwalk enroll --ca-cert FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_pem: Option<String>,
}

/// The last failed sync, for the status screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// Stable code (`network.offline`, `server.device_revoked`, …).
    pub code: String,
    /// English detail for logs.
    pub message: String,
    /// When it happened.
    pub at: String,
}

fn corrupt(column: &'static str, e: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "device_meta",
        column,
        detail: e.to_string(),
    }
}

/// The development switch that allows plain `http://` to a host that is not loopback:
/// `GRIDWALK_ALLOW_HTTP=1` in the environment (docs/sync-client.md).
pub const ALLOW_HTTP_ENV: &str = "GRIDWALK_ALLOW_HTTP";

/// Whether [`ALLOW_HTTP_ENV`] is set to `1`.
pub fn plain_http_allowed() -> bool {
    std::env::var(ALLOW_HTTP_ENV).is_ok_and(|v| v.trim() == "1")
}

/// True for `localhost`, 127.0.0.0/8 and `::1`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// Normalises and checks a server address: `https://host[:port][/path]` (or `http://`
/// to a loopback host, or anywhere when [`plain_http_allowed`]), no trailing slash, no
/// query.
pub fn normalize_server_url(raw: &str) -> Result<String, SyncError> {
    check_server_url(raw, plain_http_allowed())
}

/// [`normalize_server_url`] with the development switch given explicitly: plain `http://`
/// to a host that is not loopback is refused (`sync.insecure_server_url`) unless
/// `allow_http`. A device token and evidence must not cross a network in clear text.
pub fn check_server_url(raw: &str, allow_http: bool) -> Result<String, SyncError> {
    let bad = |reason: &str| SyncError::BadServerUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let parsed = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    if parsed.scheme() == "http" && !allow_http && !is_loopback(&parsed) {
        return Err(SyncError::InsecureServerUrl {
            url: raw.trim().to_string(),
        });
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

impl Store {
    /// The enrollment, if the device has one.
    pub fn enrollment(&self) -> Result<Option<Enrollment>, StoreError> {
        meta(&self.conn, ENROLLMENT)?
            .map(|s| serde_json::from_str(&s).map_err(|e| corrupt("sync.enrollment", e)))
            .transpose()
    }

    /// The enrolled user's name (`None` before enrollment).
    pub fn enrolled_user_name(&self) -> Result<Option<String>, StoreError> {
        Ok(self.enrollment()?.map(|e| e.user.name))
    }

    /// The random secret this device enrolls with, created (and committed) on first
    /// use so a retry after a lost answer presents the same key.
    pub fn device_key(&self) -> Result<String, StoreError> {
        if let Some(k) = meta(&self.conn, DEVICE_KEY)? {
            return Ok(k);
        }
        let key = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        self.conn.execute(
            "INSERT OR IGNORE INTO device_meta (key, value) VALUES (?1, ?2)",
            [DEVICE_KEY, key.as_str()],
        )?;
        meta(&self.conn, DEVICE_KEY)?.ok_or(StoreError::NotFound {
            what: "device key",
            key: DEVICE_KEY.into(),
        })
    }

    /// Stores a successful enrollment. When the server gave a different device id than
    /// the previous enrollment, the register is pulled from the start; for the same
    /// user every record and photo is queued again for the new identity, for another
    /// user the earlier user's records leave the device's sequence (they were delivered).
    pub fn save_enrollment(
        &self,
        server_url: &str,
        resp: &EnrollResponse,
    ) -> Result<Enrollment, StoreError> {
        self.save_enrollment_trusting(server_url, resp, ServerTrust::default())
    }

    /// [`Store::save_enrollment`], keeping how the server is trusted.
    pub fn save_enrollment_trusting(
        &self,
        server_url: &str,
        resp: &EnrollResponse,
        trust: ServerTrust,
    ) -> Result<Enrollment, StoreError> {
        let previous = self.enrollment()?;
        let e = Enrollment {
            server_url: server_url.to_string(),
            device_id: resp.device_id,
            token: resp.token.clone(),
            user: resp.user.clone(),
            server_key: resp.server_key.clone(),
            enrolled_at: super::now(),
            trust,
        };
        let text = serde_json::to_string(&e).map_err(|err| corrupt("sync.enrollment", err))?;
        let tx = crate::inspection::begin(&self.conn)?;
        set_meta(&tx, ENROLLMENT, &text)?;
        match previous {
            Some(p) if p.device_id == e.device_id => {}
            // Another user's identity (only once nothing of the earlier user waits, see
            // `Syncer::enroll_confirmed`): the earlier user's records were delivered by
            // their identity and are no part of this one's sequence, which starts afresh.
            Some(p) if p.user.name != e.user.name => {
                tx.execute(
                    "UPDATE sync_record SET wire_seq = -chain_seq - 1, fork = 0 WHERE wire_seq > 0",
                    [],
                )?;
                delete_meta(&tx, PULL_CURSOR)?;
            }
            // The first enrollment, or the same person under a new identity (a lost
            // token, a revocation): every record of this user and every photo is sent
            // again, numbered afresh in chain order; the server answers what it holds
            // `duplicate` and lets this identity deliver the photos.
            _ => {
                let now = super::now();
                tx.execute(
                    "UPDATE sync_record SET state = 'queued', error_code = NULL, error_message = NULL, \
                     updated_at = ?1 WHERE wire_seq > 0",
                    [&now],
                )?;
                let mine: Vec<i64> = {
                    let mut stmt = tx.prepare(
                        "SELECT chain_seq FROM sync_record WHERE wire_seq > 0 ORDER BY chain_seq",
                    )?;
                    let rows = stmt.query_map([], |r| r.get(0))?;
                    rows.collect::<Result<_, _>>()?
                };
                tx.execute(
                    "UPDATE sync_record SET wire_seq = -1000000000 - chain_seq, fork = 0 \
                     WHERE wire_seq > 0",
                    [],
                )?;
                for (i, chain_seq) in mine.iter().enumerate() {
                    tx.execute(
                        "UPDATE sync_record SET wire_seq = ?2 WHERE chain_seq = ?1",
                        [*chain_seq, i as i64 + 1],
                    )?;
                }
                tx.execute(
                    "UPDATE sync_photo SET state = 'queued', upload_url = NULL, upload_offset = 0, \
                     error_code = NULL, error_message = NULL, updated_at = ?1",
                    [&now],
                )?;
                delete_meta(&tx, PULL_CURSOR)?;
            }
        }
        tx.commit()?;
        Ok(e)
    }

    /// Points the enrollment at a new server address (the same server moved); plain
    /// `http://` to a host that is not loopback only if the enrollment allowed it.
    pub fn set_server_url(&self, raw: &str) -> Result<Enrollment, SyncError> {
        let mut e = self.enrollment()?.ok_or(SyncError::NotEnrolled)?;
        let url = check_server_url(raw, e.trust.allow_insecure_http || plain_http_allowed())?;
        e.server_url = url;
        let text = serde_json::to_string(&e).map_err(|err| corrupt("sync.enrollment", err))?;
        set_meta(&self.conn, ENROLLMENT, &text)?;
        Ok(e)
    }

    /// Where the last pull stopped (`""` at the start).
    pub fn pull_cursor(&self) -> Result<String, StoreError> {
        Ok(meta(&self.conn, PULL_CURSOR)?.unwrap_or_default())
    }

    /// When a sync pass last finished with nothing failing.
    pub fn last_sync_success(&self) -> Result<Option<String>, StoreError> {
        meta(&self.conn, LAST_SUCCESS)
    }

    /// The last sync failure, cleared by the next clean pass.
    pub fn last_sync_error(&self) -> Result<Option<LastError>, StoreError> {
        meta(&self.conn, LAST_ERROR)?
            .map(|s| serde_json::from_str(&s).map_err(|e| corrupt("sync.last_error", e)))
            .transpose()
    }

    /// Device clock minus server clock at the last push, in seconds (positive: ahead).
    pub fn clock_skew_seconds(&self) -> Result<Option<i64>, StoreError> {
        Ok(meta(&self.conn, CLOCK_SKEW)?.and_then(|s| s.parse().ok()))
    }

    pub(crate) fn record_sync_success(&self) -> Result<(), StoreError> {
        set_meta(&self.conn, LAST_SUCCESS, &super::now())?;
        delete_meta(&self.conn, LAST_ERROR)
    }

    pub(crate) fn record_sync_error(&self, err: &SyncError) -> Result<(), StoreError> {
        let e = LastError {
            code: err.code(),
            message: err.to_string(),
            at: super::now(),
        };
        let text = serde_json::to_string(&e).map_err(|err| corrupt("sync.last_error", err))?;
        set_meta(&self.conn, LAST_ERROR, &text)
    }

    pub(crate) fn record_clock_skew(&self, seconds: i64) -> Result<(), StoreError> {
        set_meta(&self.conn, CLOCK_SKEW, &seconds.to_string())
    }

    pub(crate) fn set_pull_cursor_in(conn: &Connection, cursor: &str) -> Result<(), StoreError> {
        set_meta(conn, PULL_CURSOR, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_normalised_or_refused() {
        assert_eq!(
            normalize_server_url(" http://127.0.0.1:8080/ ").expect("ok"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_server_url("https://gw.example.cn/api/").expect("ok"),
            "https://gw.example.cn/api"
        );
        for bad in ["ftp://x", "127.0.0.1:8080", "http://127.0.0.1/?q=1", ""] {
            let err = check_server_url(bad, true).expect_err(bad);
            assert_eq!(err.code(), "sync.bad_server_url", "{bad}");
        }
    }

    #[test]
    fn plain_http_is_only_for_loopback_unless_the_development_switch_is_on() {
        for ok in [
            "http://127.0.0.1:8737",
            "http://127.8.9.10",
            "http://localhost:8080/api",
            "http://LOCALHOST",
            "http://[::1]:8737",
            "https://gw.example.cn",
            "https://10.0.0.5:8443",
        ] {
            assert!(check_server_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://gw.example.cn",
            "http://10.0.0.5:8737",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example.cn",
        ] {
            let err = check_server_url(bad, false).expect_err(bad);
            assert_eq!(err.code(), "sync.insecure_server_url", "{bad}");
            assert!(check_server_url(bad, true).is_ok(), "{bad} with the switch");
        }
    }

    #[test]
    fn the_device_key_is_made_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("d.db")).expect("open");
        let k = store.device_key().expect("key");
        assert!(k.len() >= 32);
        assert_eq!(store.device_key().expect("again"), k);
    }
}
