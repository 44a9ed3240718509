//! The sync client: a durable outbox in the device database and the passes that
//! deliver it to the central server (`docs/sync-client.md`, protocol in
//! `docs/sync-protocol.md`).
//!
//! - [`outbox`]: the per-record and per-photo states, kept in SQLite (migration 0006);
//!   every evidence-chain link is queued by a trigger in the transaction that creates it.
//! - [`enrollment`]: the server address, device token and user, and `config` keys.
//! - [`pull`]: applying the server's register deltas, one transaction per page.
//! - [`reconcile`]: comparing what the server holds of this phone's sequence (protocol 2).
//! - [`client`]: HTTP (reqwest over rustls): enroll, push, tus uploads, pull.
//! - [`engine`]: one pass (records first, then the register, then photos), retried
//!   with exponential backoff and jitter; [`Syncer`] is what the CLI and the app call.

pub mod client;
pub mod engine;
pub mod enrollment;
pub mod outbox;
pub mod pull;
pub mod reconcile;

pub use engine::{Network, NotHeld, SyncOptions, SyncReport, Syncer, VerifyReport};
pub use enrollment::{Enrollment, ServerTrust};
pub use outbox::{AttentionItem, OutboxCounts, RecordState, SyncRecordView, SyncStatus};

use crate::error::StoreError;

/// Why a sync (or enrollment) did not go through. [`SyncError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The device has no enrollment yet.
    #[error("this device is not enrolled: run enroll with a server address and a code")]
    NotEnrolled,
    /// Another sync of this database is running (in this or another process).
    #[error("a sync of this device is already running")]
    AlreadyRunning,
    /// The server address is not an http(s) URL.
    #[error("invalid server address {url:?}: {reason}")]
    BadServerUrl { url: String, reason: String },
    /// Plain `http://` to a host that is not loopback, not explicitly allowed
    /// (`enroll --allow-insecure-http`, or `GRIDWALK_ALLOW_HTTP=1` for development).
    #[error("the server address {url:?} is not https; plain http is only allowed to this machine (127.0.0.1, ::1, localhost)")]
    InsecureServerUrl { url: String },
    /// The extra CA certificate given to trust the server is not a PEM certificate.
    #[error("the CA certificate cannot be used: {0}")]
    BadCaCert(String),
    /// The server's TLS certificate is not trusted (a self-signed certificate not given
    /// with `--ca-cert`, an expired one, another name), or something between intercepts
    /// the connection (a public Wi-Fi's sign-in page, an attacker). Retried, since a
    /// captive portal passes once signed in; nothing is sent meanwhile.
    #[error("the server's certificate is not trusted: {0}")]
    UntrustedCertificate(String),
    /// Could not connect (no network, server down, DNS).
    #[error("cannot reach the server: {0}")]
    Offline(String),
    /// The server did not answer in time.
    #[error("the server did not answer in time: {0}")]
    Timeout(String),
    /// The connection broke mid-request or the answer was cut short or garbled.
    #[error("the connection was interrupted: {0}")]
    Interrupted(String),
    /// The server answered with a problem (`docs/sync-protocol.md`).
    #[error("server refused ({status} {code}): {detail}")]
    Server {
        status: u16,
        /// The problem code (`unauthenticated`, …), or `http_<status>` if none.
        code: String,
        detail: String,
        /// The server's `Retry-After` (a 429 or 503), which the backoff honours.
        retry_after: Option<std::time::Duration>,
    },
    /// A receipt did not verify against the server key received at enrollment.
    #[error("the server's receipt does not verify: {0}")]
    BadReceipt(String),
    /// The sync lock file beside the database cannot be created or locked (permissions,
    /// a full or read-only disk).
    #[error("sync lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
    /// A photo file the outbox must send is missing or altered on this device.
    #[error("local evidence problem: {0}")]
    LocalEvidence(String),
    /// Enrolling with another server while work still waits for the current one, not
    /// confirmed by the person.
    #[error("{pending} records or photos still wait for {current}; enrolling with another server sends them there instead: confirm the switch")]
    SwitchServerUnconfirmed { current: String, pending: u64 },
    /// Enrolling for another user while records or photos of the current user still
    /// wait for the server: refused until they are delivered (docs/sync-client.md,
    /// "Enrollment"). Nothing changed on the phone; the code stays valid for it.
    #[error("{pending} records or photos of {current_user} have not all reached the server yet; this phone cannot be enrolled for {new_user} until they have: sync them first with the current enrollment, then enter the same code again (it stays valid for this phone)")]
    PendingWorkOfAnotherUser {
        /// The user of the current enrollment, whose work is pending.
        current_user: String,
        /// The user the code is for.
        new_user: String,
        /// Records and photos not yet complete on the server.
        pending: u64,
    },
    /// Everything that could be sent was sent, but records or photos of this phone are
    /// refused or stranded: a person must look (`gridwalk status`, the Sync screen).
    #[error("{records} records and {photos} photos of this phone are refused or stranded on the server; see the reasons in gridwalk status")]
    NeedsAttention { records: u64, photos: u64 },
    /// A record's chain link does not verify on this device (its payload, link or
    /// order was altered after it was chained): it and what follows are held back.
    #[error("evidence chain broken at link {seq}: {detail}")]
    BrokenChain { seq: u64, detail: String },
    /// The device database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Stable machine-readable code for the CLI's JSON, the app's IPC and `last_error`.
    pub fn code(&self) -> String {
        match self {
            SyncError::NotEnrolled => "sync.not_enrolled".into(),
            SyncError::AlreadyRunning => "sync.already_running".into(),
            SyncError::BadServerUrl { .. } => "sync.bad_server_url".into(),
            SyncError::InsecureServerUrl { .. } => "sync.insecure_server_url".into(),
            SyncError::BadCaCert(_) => "sync.bad_ca_cert".into(),
            SyncError::UntrustedCertificate(_) => "network.untrusted_certificate".into(),
            SyncError::Offline(_) => "network.offline".into(),
            SyncError::Timeout(_) => "network.timeout".into(),
            SyncError::Interrupted(_) => "network.interrupted".into(),
            SyncError::Server { code, .. } => format!("server.{code}"),
            SyncError::BadReceipt(_) => "sync.bad_receipt".into(),
            SyncError::LockFile { .. } => "sync.lock_file".into(),
            SyncError::LocalEvidence(_) => "evidence.local_file".into(),
            SyncError::BrokenChain { .. } => "evidence.chain_broken".into(),
            SyncError::SwitchServerUnconfirmed { .. } => "sync.switch_server_unconfirmed".into(),
            SyncError::PendingWorkOfAnotherUser { .. } => {
                "sync.pending_work_of_another_user".into()
            }
            SyncError::NeedsAttention { .. } => "sync.needs_attention".into(),
            SyncError::Store(e) => e.code().into(),
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After`), at most
    /// [`MAX_RETRY_AFTER`].
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SyncError::Server {
                retry_after: Some(d),
                ..
            } => Some((*d).min(MAX_RETRY_AFTER)),
            _ => None,
        }
    }

    /// True when trying again later may succeed (network trouble, server overloaded or
    /// restarting); false when a person must act (enroll again, revoked, bad address).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Offline(_)
            | SyncError::Timeout(_)
            | SyncError::Interrupted(_)
            | SyncError::UntrustedCertificate(_) => true,
            SyncError::Server { status, code, .. } => {
                *status >= 500 || *status == 408 || *status == 429 || code == "checksum_mismatch"
            }
            _ => false,
        }
    }
}

/// The longest `Retry-After` a sync waits for before its next attempt (a server asking
/// for more is waited for this long, then asked again).
pub const MAX_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// The wait before retry `n` after a failure that said `retry_after`
/// ([`SyncError::retry_after`]): the backoff, or the server's `Retry-After` when that
/// is longer.
pub fn retry_delay(
    retry_after: Option<std::time::Duration>,
    base: std::time::Duration,
    max: std::time::Duration,
    n: u32,
) -> std::time::Duration {
    let backoff = engine::backoff_delay(base, max, n);
    retry_after.map_or(backoff, |r| r.max(backoff))
}

impl From<rusqlite::Error> for SyncError {
    fn from(e: rusqlite::Error) -> Self {
        SyncError::Store(StoreError::Sqlite(e))
    }
}

/// Current UTC time as stored (RFC 3339).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn refused(status: u16, retry_after: Option<u64>) -> SyncError {
        SyncError::Server {
            status,
            code: "rate_limited".into(),
            detail: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn a_retry_waits_the_servers_retry_after_when_longer_than_the_backoff_and_at_most_five_minutes()
    {
        let base = Duration::from_millis(10);
        let max = Duration::from_secs(60);
        let e = refused(429, Some(7));
        assert!(e.is_transient());
        let d = retry_delay(e.retry_after(), base, max, 0);
        assert!(
            d >= Duration::from_secs(7) && d < Duration::from_secs(8),
            "{d:?}"
        );
        // A backoff already longer is kept.
        let long = retry_delay(e.retry_after(), Duration::from_secs(20), max, 0);
        assert!(long >= Duration::from_secs(10), "{long:?}");
        // A hostile or broken server cannot park the phone for a day.
        assert_eq!(
            refused(429, Some(86_400)).retry_after(),
            Some(MAX_RETRY_AFTER)
        );
        // Without the header: the backoff alone.
        assert_eq!(refused(429, None).retry_after(), None);
        assert!(retry_delay(None, base, max, 0) < Duration::from_millis(15));
        assert_eq!(SyncError::Offline("x".into()).retry_after(), None);
    }
}
