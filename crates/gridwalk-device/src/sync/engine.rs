//! One sync pass and its retries: records first, then the register, then photos.
//!
//! [`Syncer`] owns nothing but the database path and options: each pass opens its own
//! connection (SQLite in WAL lets the app keep its own) and runs on a current-thread
//! tokio runtime of its own, so the CLI and the app call it from any thread. A file
//! lock beside the database keeps two passes (two processes) from running at once; the
//! kernel drops it if the process is killed.

use super::client::ServerClient;
use super::enrollment::{check_server_url, plain_http_allowed, ServerTrust};
use super::outbox::OutboxPhoto;
use super::pull::PullApplied;
use super::{Enrollment, SyncError};
use crate::store::Store;
use gridwalk_protocol::{EnrollRequest, Outcome, PushRequest, MAX_BATCH_RECORDS};
use serde::Serialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

/// The network the device is on (photos may wait for Wi-Fi).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    Wifi,
    Cellular,
    None,
    /// Not known (desktop, CLI): treated as unmetered.
    #[default]
    Unknown,
}

impl Network {
    /// Parses `wifi|cellular|none|unknown`.
    pub fn parse(s: &str) -> Option<Network> {
        match s {
            "wifi" => Some(Network::Wifi),
            "cellular" => Some(Network::Cellular),
            "none" => Some(Network::None),
            "unknown" => Some(Network::Unknown),
            _ => None,
        }
    }
}

/// Tuning of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Timeout of each HTTP request.
    pub timeout: Duration,
    /// tus chunk size (one cut re-sends at most this much).
    pub chunk_bytes: usize,
    /// Passes tried before giving up on transient failures.
    pub attempts: u32,
    /// First backoff; doubled per failure, with ±50 % jitter.
    pub backoff: Duration,
    /// Backoff ceiling.
    pub max_backoff: Duration,
    /// Records per push.
    pub batch_records: usize,
    /// Changes per pull page.
    pub pull_limit: u32,
    /// The network now.
    pub network: Network,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            timeout: Duration::from_secs(30),
            chunk_bytes: 256 * 1024,
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            batch_records: 200,
            pull_limit: 500,
            network: Network::Unknown,
        }
    }
}

/// What a sync run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// True when nothing is left to send: every record complete or rejected.
    pub done: bool,
    /// Passes run.
    pub passes: u32,
    /// Records the server stored now.
    pub accepted: u64,
    /// Records the server already held (a retry after a lost answer).
    pub duplicates: u64,
    /// Records refused for good.
    pub rejected: u64,
    /// Records queued again after the server reported a sequence gap.
    pub requeued: u64,
    /// Records sent again because the server did not hold them as this phone believed
    /// (reconciliation: a restore of either database).
    pub reconciled: u64,
    /// Records renumbered in a fork (this phone's database went back in time).
    pub forked: u64,
    /// Records and photos refused or held back, listed with reasons by `status`: while
    /// any remain the run is not clean, even with nothing left to send.
    pub needs_attention: u64,
    /// Photo files uploaded to completion.
    pub photos_uploaded: u64,
    /// Photo bytes sent in PATCH bodies (re-sent bytes included).
    pub photo_bytes_sent: u64,
    /// Photos waiting for Wi-Fi.
    pub photos_waiting_for_wifi: u64,
    /// Register changes applied.
    pub pulled: PullApplied,
    /// The failure that ended the run, if work remains.
    pub error: Option<super::outbox::CodedError>,
}

/// Runs enrollment and sync passes for one device database.
#[derive(Debug, Clone)]
pub struct Syncer {
    db: PathBuf,
    opts: SyncOptions,
}

/// Runs reconcile requests until every differing range is narrowed down to entries:
/// the first answer (epoch, next position, missing photos, limits) and what differs.
async fn compare_with_server(
    client: &ServerClient,
    reconciler: &super::reconcile::Reconciler,
) -> Result<
    (
        gridwalk_protocol::ReconcileResponse,
        super::reconcile::Differences,
    ),
    SyncError,
> {
    // Ranges still to ask about, at most MAX_RANGES a request; none is dropped.
    let mut queue: std::collections::VecDeque<gridwalk_protocol::SeqRange> =
        reconciler.first_request().into();
    let mut found = super::reconcile::Differences::default();
    let mut first = None;
    // Each round narrows a differing range sixteenfold (2⁶⁴ positions take 16 rounds);
    // the cap only stops a server that keeps answering nonsense.
    for _ in 0..4096 {
        let n = queue.len().min(gridwalk_protocol::reconcile::MAX_RANGES);
        let resp = client
            .reconcile(&gridwalk_protocol::ReconcileRequest {
                ranges: queue.drain(..n).collect(),
            })
            .await?;
        queue.extend(reconciler.absorb(&resp.ranges, &mut found));
        if first.is_none() {
            first = Some(resp);
        }
        if queue.is_empty() {
            break;
        }
    }
    let first = first.ok_or_else(|| SyncError::Interrupted("no reconcile answer".into()))?;
    Ok((first, found))
}

/// What `gridwalk sync --verify` found: whether the server holds, by hash, every record
/// this phone finalized, and every photo they reference.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// True when the server holds everything.
    pub verified: bool,
    /// Records this phone finalized.
    pub records: u64,
    /// Those the server holds with the same hash at the same position.
    pub records_held: u64,
    /// Those it does not: refused, not yet sent, or lost by the server.
    pub not_held: Vec<NotHeld>,
    /// Photos the server still lacks for records it holds.
    pub photos_missing: Vec<String>,
    /// Photo files this phone holds for the server.
    pub photos: u64,
    /// The position the server expects next from this device.
    pub server_next_seq: u64,
}

/// A record the server does not hold as finalized on this phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotHeld {
    pub seq: u64,
    pub id: uuid::Uuid,
    /// The record's state in this phone's outbox, and why if it has a reason.
    pub state: String,
    pub code: Option<String>,
}

/// What reconciliation tells the rest of the pass.
struct Reconciled {
    /// The position the server expects next from this device.
    next_seq: u64,
    /// The photos the server still lacks, when the answer listed them all.
    missing: Option<HashSet<String>>,
}

/// The photo hashes the server still lacks for this device's accepted records.
async fn missing_set(client: &ServerClient) -> Result<HashSet<String>, SyncError> {
    Ok(client
        .missing_photos()
        .await?
        .photos
        .into_iter()
        .map(|m| m.sha256)
        .collect())
}

fn runtime() -> Result<tokio::runtime::Runtime, SyncError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SyncError::Offline(format!("cannot start the network runtime: {e}")))
}

/// Backoff before retry `n` (0-based): base × 2ⁿ, capped, times a jitter in [0.5, 1.5).
pub fn backoff_delay(base: Duration, max: Duration, n: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << n.min(16)).min(max);
    exp.mul_f64(0.5 + fastrand::f64())
}

impl Syncer {
    /// A syncer for the database at `db`.
    pub fn new(db: impl Into<PathBuf>, opts: SyncOptions) -> Syncer {
        Syncer {
            db: db.into(),
            opts,
        }
    }

    fn lock(&self) -> Result<std::fs::File, SyncError> {
        let mut name = self.db.as_os_str().to_owned();
        name.push(".sync-lock");
        let path = PathBuf::from(name);
        let lock_error = |source| SyncError::LockFile {
            path: path.display().to_string(),
            source,
        };
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(lock_error)?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(std::fs::TryLockError::WouldBlock) => Err(SyncError::AlreadyRunning),
            Err(std::fs::TryLockError::Error(e)) => Err(lock_error(e)),
        }
    }

    /// Enrolls the device with a one-time code. The device key is stored before the
    /// request goes out, so a retry after a lost answer is recognised by the server;
    /// transient failures are retried with backoff.
    pub fn enroll(
        &self,
        server_url: &str,
        code: &str,
        device_name: Option<&str>,
    ) -> Result<Enrollment, SyncError> {
        self.enroll_confirmed(server_url, code, device_name, false)
    }

    /// [`Syncer::enroll`], saying whether the person confirmed moving to another server:
    /// enrolling with a server other than the current one while records or photos still
    /// wait for it re-sends all of them to the new one, so without `confirm_switch_server`
    /// it is refused (`sync.switch_server_unconfirmed`) and nothing changes.
    ///
    /// Enrolling for another user than the current enrollment's while any record or
    /// photo of this phone is still pending is refused once the server has answered
    /// (`sync.pending_work_of_another_user`) and nothing changes: deliver the work with
    /// the current enrollment, then enter the same code again. For the same user the
    /// pending work carries over.
    pub fn enroll_confirmed(
        &self,
        server_url: &str,
        code: &str,
        device_name: Option<&str>,
        confirm_switch_server: bool,
    ) -> Result<Enrollment, SyncError> {
        self.enroll_trusting(
            server_url,
            code,
            device_name,
            confirm_switch_server,
            ServerTrust::default(),
        )
    }

    /// [`Syncer::enroll_confirmed`] with how to trust the server, kept with the
    /// enrollment for every later sync: plain `http://` to a host that is not loopback
    /// is refused (`sync.insecure_server_url`) unless `trust.allow_insecure_http` (or
    /// `GRIDWALK_ALLOW_HTTP=1`); `trust.ca_cert_pem` is trusted besides the built-in
    /// roots (a certificate that does not parse: `sync.bad_ca_cert`).
    pub fn enroll_trusting(
        &self,
        server_url: &str,
        code: &str,
        device_name: Option<&str>,
        confirm_switch_server: bool,
        trust: ServerTrust,
    ) -> Result<Enrollment, SyncError> {
        let url = check_server_url(
            server_url,
            trust.allow_insecure_http || plain_http_allowed(),
        )?;
        super::client::parse_ca_pem(trust.ca_cert_pem.as_deref())?;
        // Not while a pass runs: its answers must not overwrite the re-queueing a new
        // device identity causes.
        let _lock = self.lock()?;
        let store = Store::open(&self.db)?;
        if let Some(current) = store.enrollment()? {
            if current.server_url != url && !confirm_switch_server {
                let pending = store.sync_status()?.pending;
                if pending > 0 {
                    return Err(SyncError::SwitchServerUnconfirmed {
                        current: current.server_url,
                        pending,
                    });
                }
            }
        }
        let req = EnrollRequest {
            code: code.trim().to_string(),
            device_key: store.device_key()?,
            device_name: device_name.map(str::to_string),
        };
        let client =
            ServerClient::new(&url, None, self.opts.timeout, trust.ca_cert_pem.as_deref())?;
        let rt = runtime()?;
        let mut n = 0;
        let resp = loop {
            match rt.block_on(client.enroll(&req)) {
                Ok(r) => break r,
                Err(e) if e.is_transient() && n + 1 < self.opts.attempts => {
                    std::thread::sleep(super::retry_delay(
                        e.retry_after(),
                        self.opts.backoff,
                        self.opts.max_backoff,
                        n,
                    ));
                    n += 1;
                }
                Err(e) => return Err(e),
            }
        };
        // Records and photos are evidence of the person who made them: another person's
        // identity must not deliver them, and the server, holding the records for the
        // first person only, would never ask it for their photos. So enrolling for
        // another user waits until this phone's work is delivered; the code stays valid
        // for this device key, so the same code works then (docs/sync-client.md).
        if let Some(current) = store.enrollment()? {
            if current.user.name != resp.user.name {
                let pending = store.sync_status()?.pending;
                if pending > 0 {
                    return Err(SyncError::PendingWorkOfAnotherUser {
                        current_user: current.user.name,
                        new_user: resp.user.name,
                        pending,
                    });
                }
            }
        }
        Ok(store.save_enrollment_trusting(&url, &resp, trust)?)
    }

    /// Proves, by hash, that the server holds every record this phone finalized and the
    /// photos they reference (`gridwalk sync --verify`). Reads only: what is missing is
    /// A client for the enrolled server, with the enrollment's token and trust.
    fn client_for(&self, enr: &Enrollment) -> Result<ServerClient, SyncError> {
        ServerClient::new(
            &enr.server_url,
            Some(&enr.token),
            self.opts.timeout,
            enr.trust.ca_cert_pem.as_deref(),
        )
    }

    /// sent by the next sync.
    pub fn verify(&self) -> Result<VerifyReport, SyncError> {
        let _lock = self.lock()?;
        let rt = runtime()?;
        let store = Store::open(&self.db)?;
        let enr = store.enrollment()?.ok_or(SyncError::NotEnrolled)?;
        let client = self.client_for(&enr)?;
        let expected = store.expected_entries()?;
        let reconciler = super::reconcile::Reconciler::new(expected);
        let (first, found) = rt.block_on(compare_with_server(&client, &reconciler))?;
        let mut photos_missing = first.missing_photos.clone();
        if first.missing_photos_more {
            photos_missing = rt.block_on(missing_set(&client))?.into_iter().collect();
            photos_missing.sort();
        }
        // Only this phone's files: records of a branch a restore left behind (on the
        // server, not on this phone) may name photos no phone holds any more.
        let mine = store.outbox_photo_hashes()?;
        photos_missing.retain(|p| mine.contains(p));
        let states = store.outbox_states()?;
        let not_held: Vec<NotHeld> = reconciler
            .entries()
            .iter()
            .filter(|e| found.resend.contains(&e.seq))
            .map(|e| {
                let (state, code) = states.get(&e.seq).cloned().unwrap_or_default();
                NotHeld {
                    seq: e.seq,
                    id: e.id,
                    state,
                    code,
                }
            })
            .collect();
        let records = reconciler.entries().len() as u64;
        Ok(VerifyReport {
            verified: not_held.is_empty() && photos_missing.is_empty(),
            records,
            records_held: records - not_held.len() as u64,
            not_held,
            photos_missing,
            photos: mine.len() as u64,
            server_next_seq: first.next_seq,
        })
    }

    /// Runs passes until nothing is left to send, a person must act, or the attempts
    /// are used up. Transient failures end as `Ok` with `done: false` and the error;
    /// failures a person must fix (not enrolled, revoked, bad receipt) are `Err`.
    pub fn run_once(&self) -> Result<SyncReport, SyncError> {
        let _lock = self.lock()?;
        let rt = runtime()?;
        let store = Store::open(&self.db)?;
        let mut report = SyncReport::default();
        let mut n = 0;
        loop {
            report.passes += 1;
            report.error = None;
            let mut retry_after = None;
            let result = rt.block_on(self.pass(&store, &mut report));
            match result {
                Ok(()) if report.error.is_some() => return Ok(report),
                Ok(()) if report.done || report.photos_waiting_for_wifi > 0 => {
                    if report.done {
                        // Nothing left to send; but what was refused or held back is not
                        // on the server, and sync does not say all is well while it is.
                        let attention = store.attention()?;
                        report.needs_attention = attention.len() as u64;
                        if attention.is_empty() {
                            store.record_sync_success()?;
                        } else {
                            let photos = attention.iter().filter(|a| a.item == "photo").count();
                            store.record_sync_error(&SyncError::NeedsAttention {
                                records: (attention.len() - photos) as u64,
                                photos: photos as u64,
                            })?;
                        }
                    }
                    return Ok(report);
                }
                Ok(()) => {}
                Err(e) if e.is_transient() => {
                    store.record_sync_error(&e)?;
                    retry_after = e.retry_after();
                    report.error = Some(super::outbox::CodedError {
                        code: e.code(),
                        message: e.to_string(),
                    });
                }
                Err(e) => {
                    store.record_sync_error(&e)?;
                    return Err(e);
                }
            }
            if n + 1 >= self.opts.attempts {
                return Ok(report);
            }
            // The server's Retry-After (a 429 rate_limited, a 503), when longer.
            std::thread::sleep(super::retry_delay(
                retry_after,
                self.opts.backoff,
                self.opts.max_backoff,
                n,
            ));
            n += 1;
        }
    }

    async fn pass(&self, store: &Store, report: &mut SyncReport) -> Result<(), SyncError> {
        let enr = store.enrollment()?.ok_or(SyncError::NotEnrolled)?;
        let client = self.client_for(&enr)?;
        // What the server holds of this phone, first: a restore of either database is
        // repaired by sending again, before anything new goes.
        let reconciled = self.reconcile_all(store, &client, report).await?;
        self.push_all(store, &client, &enr, Some(reconciled.next_seq), report)
            .await?;
        // A register page that cannot apply must not hold the photos back: pull, go on
        // with the photos, and report the pull's failure at the end.
        let pulled = self.pull_all(store, &client, report).await;
        let photos_allowed =
            !(self.opts.network == Network::Cellular && store.settings()?.wifi_only_photos);
        // The reconcile answer listed the missing photos, unless there were too many or
        // records were sent since.
        let mut missing = match reconciled.missing {
            Some(m) if report.accepted + report.duplicates == 0 => m,
            _ => missing_set(&client).await?,
        };
        // What the server lacks is the truth, whatever this device believed.
        store.requeue_photos(&missing)?;
        let referenced = store.photos_of_accepted_records()?;
        let mut uploaded_any = false;
        let mut photo_failure = None;
        report.photos_waiting_for_wifi = 0;
        for p in store.photos_not_complete()? {
            if !missing.contains(&p.sha256) {
                // Not listed as missing though an accepted record references it: the
                // server may hold it (a kill after the last chunk), or the record is
                // another enrollment's. Ask: a creation for a held photo comes back
                // complete; a refused one leaves the file queued.
                if referenced.contains(&p.sha256) && photos_allowed {
                    if let Err(e) = self.confirm_held(store, &client, &p).await {
                        if e.is_transient() {
                            return Err(e);
                        }
                    }
                }
                continue;
            }
            if !photos_allowed {
                report.photos_waiting_for_wifi += 1;
                continue;
            }
            match self.upload(store, &client, &p, report).await {
                Ok(()) => {
                    uploaded_any = true;
                    report.photos_uploaded += 1;
                }
                Err(e) => {
                    store.set_photo_failed(&p.sha256, &e)?;
                    if e.is_transient() {
                        return Err(e);
                    }
                    photo_failure = Some(e);
                }
            }
        }
        if uploaded_any {
            missing = missing_set(&client).await?;
        }
        store.complete_records(&missing)?;
        pulled?;
        let status = store.sync_status()?;
        let r = &status.records;
        report.done = r.queued + r.sending + r.failed + r.accepted == 0
            && status.photos.failed == 0
            && photo_failure.is_none();
        // A photo refused for good (its file is gone or altered) does not stop the
        // others; the run ends with the error so a person sees it.
        if let Some(e) = &photo_failure {
            store.record_sync_error(e)?;
        }
        report.error = photo_failure.map(|e| super::outbox::CodedError {
            code: e.code(),
            message: e.to_string(),
        });
        Ok(())
    }

    /// Asks the server whether it holds a photo (a tus creation it answers complete).
    /// Marks it complete if so; otherwise keeps the new upload's address, and the file
    /// goes up when the server lists it as missing.
    async fn confirm_held(
        &self,
        store: &Store,
        client: &ServerClient,
        p: &OutboxPhoto,
    ) -> Result<(), SyncError> {
        let (url, offset) = client
            .create_upload(&p.sha256, p.bytes, &p.upload_name())
            .await?;
        if offset >= p.bytes {
            store.set_photo_complete(&p.sha256)?;
        } else {
            store.set_photo_progress(&p.sha256, Some(&url), offset)?;
        }
        Ok(())
    }

    /// Reconciles what the server holds of this phone's sequence with what the phone
    /// believes (docs/sync-protocol.md "Reconciliation"), narrowing differing ranges
    /// down; queues again what the server does not hold as believed, and restarts the
    /// register pull when the server lost records it had acknowledged.
    async fn reconcile_all(
        &self,
        store: &Store,
        client: &ServerClient,
        report: &mut SyncReport,
    ) -> Result<Reconciled, SyncError> {
        let reconciler = super::reconcile::Reconciler::new(store.delivered_entries()?);
        let (first, found) = compare_with_server(client, &reconciler).await?;
        store.set_server_limits(&first.limits)?;
        if !found.resend.is_empty() {
            let n = store.resend_positions(&found.resend)?;
            report.reconciled += n as u64;
        }
        if found.server_lost {
            // Its register may have gone back too: pull it again from the start.
            store.reset_pull_cursor()?;
        }
        Ok(Reconciled {
            next_seq: first.next_seq,
            missing: (!first.missing_photos_more)
                .then(|| first.missing_photos.into_iter().collect()),
        })
    }

    async fn push_all(
        &self,
        store: &Store,
        client: &ServerClient,
        enr: &Enrollment,
        mut server_next: Option<u64>,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let key = gridwalk_protocol::receipt::decode_public_key(&enr.server_key.public_key)
            .map_err(|e| SyncError::BadReceipt(format!("stored server key: {e}")))?;
        // Within what the server published: records per push, and three quarters of its
        // body limit (the envelopes' JSON is measured before gzip).
        let limits = store.server_limits()?;
        let published = usize::try_from(limits.max_batch_records).unwrap_or(MAX_BATCH_RECORDS);
        let mut batch_size = self
            .opts
            .batch_records
            .clamp(1, MAX_BATCH_RECORDS.min(published).max(1));
        let body = usize::try_from(limits.max_body_bytes / 4 * 3).unwrap_or(usize::MAX);
        let mut max_bytes = (3 * 1024 * 1024usize).min(body).max(1);
        let mut gap_rounds = 0;
        let mut forks = 0;
        loop {
            let mut batch =
                store.pending_envelopes(batch_size, max_bytes, &enr.user.jurisdiction)?;
            if batch.is_empty() {
                return Ok(());
            }
            // Positions the server holds go alone first: each is a record it holds
            // (`duplicate`) or another record's (`seq_reused`: this phone forks), and what
            // follows them must not be numbered before the fork is known.
            if let Some(next) = server_next {
                if batch[0].seq < next {
                    batch.retain(|e| e.seq < next);
                }
            }
            store.mark_sending(&batch)?;
            let req = PushRequest {
                records: batch.clone(),
            };
            let resp = match client.push(&req).await {
                Ok(r) => r,
                // Too big for the server: split the batch and go on.
                Err(SyncError::Server { status: 413, .. }) if batch.len() > 1 => {
                    batch_size = (batch.len() / 2).max(1);
                    max_bytes = (max_bytes / 2).max(1);
                    continue;
                }
                // One record too big for the server: its payload is withheld and it is
                // set aside there (its link still anchors the chain), never blocking the
                // records after it.
                Err(SyncError::Server { status: 413, .. }) if !batch[0].withheld => {
                    store.set_withheld(batch[0].seq)?;
                    continue;
                }
                Err(e) => {
                    store.mark_failed(&batch, &e)?;
                    return Err(e);
                }
            };
            let body = resp
                .receipt
                .verify(&key)
                .map_err(|e| SyncError::BadReceipt(e.to_string()))?;
            if body.device_id != enr.device_id {
                return Err(SyncError::BadReceipt(format!(
                    "receipt for device {} instead of {}",
                    body.device_id, enr.device_id
                )));
            }
            let skew = chrono::Utc::now()
                .signed_duration_since(body.server_time)
                .num_seconds();
            store.record_clock_skew(skew)?;
            server_next = Some(resp.next_seq);
            let applied = store.apply_push(&batch, &resp, &body)?;
            let gap = applied.gap;
            if applied.reused {
                // This phone's database went back in time: fork in the open.
                forks += 1;
                if forks > 3 {
                    return Err(SyncError::Server {
                        status: 200,
                        code: "sequence_reused".into(),
                        detail: format!(
                            "the server keeps holding other records at this phone's positions (next {})",
                            resp.next_seq
                        ),
                        retry_after: None,
                    });
                }
                let n = store.fork_from(resp.next_seq)?;
                report.forked += n as u64;
                continue;
            }
            let mut progressed = false;
            for r in &resp.results {
                match r.outcome {
                    Outcome::Accepted => report.accepted += 1,
                    Outcome::Duplicate => report.duplicates += 1,
                    Outcome::Rejected {
                        code: gridwalk_protocol::ProblemCode::SeqReused,
                        ..
                    } => continue,
                    Outcome::Conflict { .. } | Outcome::Rejected { .. } => report.rejected += 1,
                    Outcome::Gap { .. } => continue,
                }
                progressed = true;
            }
            if let Some(expected) = gap {
                gap_rounds += 1;
                if gap_rounds > 3 {
                    return Err(SyncError::Server {
                        status: 200,
                        code: "sequence_gap".into(),
                        detail: format!("the server keeps expecting seq {expected}"),
                        retry_after: None,
                    });
                }
                if store.holds_position(expected)? {
                    report.requeued += store.requeue_from(expected)? as u64;
                } else {
                    // The server expects a position this phone never held (it belonged to
                    // a branch a restore of this phone left behind, and the server went
                    // back to before it): what is pending continues from there.
                    report.requeued += store.requeue_from(expected)? as u64;
                    report.forked += store.fork_from(expected)? as u64;
                }
            } else if !progressed {
                return Err(SyncError::Interrupted(
                    "the server answered the push without results for its records".into(),
                ));
            }
        }
    }

    async fn pull_all(
        &self,
        store: &Store,
        client: &ServerClient,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let mut cursor = store.pull_cursor()?;
        loop {
            let page = client.pull(&cursor, self.opts.pull_limit).await?;
            let applied = store.apply_pull_page(&page)?;
            report.pulled.add(&applied);
            if !page.has_more || page.next_cursor == cursor {
                return Ok(());
            }
            cursor = page.next_cursor;
        }
    }

    async fn upload(
        &self,
        store: &Store,
        client: &ServerClient,
        p: &OutboxPhoto,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        /// New creations after the server forgot the upload, per photo and pass.
        const MAX_RESTARTS: u32 = 2;
        let bytes = store.outbox_photo_bytes(p)?;
        let len = bytes.len() as u64;
        // The upload's path below the server address, resolved against the address
        // configured now (an older version kept the absolute URL: reduced here, and kept
        // reduced from the next chunk on), so `config set server` does not strand it.
        let mut kept = p.upload_url.as_deref().map(super::client::upload_path);
        let mut restarts = 0;
        'upload: loop {
            let mut resumed = None;
            if let Some(url) = kept.take() {
                // `None`: the server no longer knows it (404/410); a new one starts.
                if let Some(o) = client.upload_offset(&url).await? {
                    if o.length.is_none_or(|l| l == len) && o.offset <= len {
                        resumed = Some((url, o.offset));
                    } else {
                        // Not resumable: let the server forget it before a new one starts.
                        client.terminate(&url).await;
                    }
                }
            }
            let was_resumed = resumed.is_some();
            let (url, mut offset) = match resumed {
                Some(r) => r,
                None => {
                    let (url, offset) = client
                        .create_upload(&p.sha256, len, &p.upload_name())
                        .await?;
                    store.set_photo_progress(&p.sha256, Some(&url), offset)?;
                    (url, offset)
                }
            };
            let chunk = self.opts.chunk_bytes.max(1) as u64;
            // Every byte is there but the server may not have verified them yet (it
            // stopped between the last chunk and the check): an empty PATCH has it finish.
            let mut finish = was_resumed && offset >= len;
            let mut mismatches = 0;
            while offset < len || finish {
                let end = (offset + chunk).min(len);
                let body = bytes[offset.min(len) as usize..end as usize].to_vec();
                let forgotten = match client.patch(&url, offset.min(len), body).await {
                    Ok(new) if finish && new == len => {
                        finish = false;
                        continue;
                    }
                    Ok(new) if new > offset && new <= len => {
                        report.photo_bytes_sent += end - offset;
                        offset = new;
                        store.set_photo_progress(&p.sha256, Some(&url), offset)?;
                        continue;
                    }
                    Ok(new) => {
                        return Err(SyncError::Interrupted(format!(
                            "tus offset went from {offset} to {new}"
                        )))
                    }
                    Err(SyncError::Server { code, .. }) if code == "upload_offset_mismatch" => {
                        mismatches += 1;
                        if mismatches > 3 {
                            client.terminate(&url).await;
                            store.set_photo_progress(&p.sha256, None, 0)?;
                            return Err(SyncError::Interrupted(
                                "the tus offset keeps moving; a new upload starts next time".into(),
                            ));
                        }
                        match client.upload_offset(&url).await? {
                            Some(o) if o.offset <= len => {
                                offset = o.offset;
                                continue;
                            }
                            Some(o) => {
                                store.set_photo_progress(&p.sha256, None, 0)?;
                                return Err(SyncError::Interrupted(format!(
                                    "tus upload {url} is at offset {} past the photo's {len} \
                                     bytes; a new upload starts next time",
                                    o.offset
                                )));
                            }
                            None => format!("HEAD of {url} after an offset mismatch: gone"),
                        }
                    }
                    // The server no longer knows the upload (expired, or removed).
                    Err(SyncError::Server { status, code, .. }) if matches!(status, 404 | 410) => {
                        format!("PATCH of {url}: {status} {code}")
                    }
                    Err(e) => {
                        if let SyncError::Server { code, .. } = &e {
                            if code == "photo_hash_mismatch" {
                                // Start a new upload next time.
                                store.set_photo_progress(&p.sha256, None, 0)?;
                                return Err(SyncError::Interrupted(e.to_string()));
                            }
                        }
                        return Err(e);
                    }
                };
                // Start again from zero with a new creation, in this pass; a server that
                // keeps forgetting ends the pass (retried later) rather than looping.
                store.set_photo_progress(&p.sha256, None, 0)?;
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    return Err(SyncError::Interrupted(format!(
                        "the server forgot the upload of photo {} {restarts} times in one pass \
                         ({forgotten}); a new upload starts next time",
                        p.sha256
                    )));
                }
                continue 'upload;
            }
            store.set_photo_complete(&p.sha256)?;
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        for n in 0..8 {
            let d = backoff_delay(base, max, n);
            let exp = (base * (1 << n)).min(max);
            assert!(d >= exp.mul_f64(0.5) && d < exp.mul_f64(1.5), "{n}: {d:?}");
        }
    }

    #[test]
    fn a_second_sync_of_the_same_database_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let syncer = Syncer::new(dir.path().join("device.db"), SyncOptions::default());
        let held = syncer.lock().expect("first lock");
        let second = syncer.lock().expect_err("second lock");
        assert_eq!(second.code(), "sync.already_running");
        drop(held);
        syncer.lock().expect("lock again once released");
    }

    #[test]
    fn an_unusable_lock_file_is_its_own_error_not_an_evidence_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("device.db");
        // A directory where the lock file belongs: opening it for writing fails.
        std::fs::create_dir(dir.path().join("device.db.sync-lock")).expect("mkdir");
        let e = Syncer::new(&db, SyncOptions::default())
            .lock()
            .expect_err("lock on a directory");
        assert_eq!(e.code(), "sync.lock_file");
        assert!(!e.is_transient());
        assert!(e.to_string().contains("device.db.sync-lock"), "{e}");
    }

    #[test]
    fn networks_parse() {
        assert_eq!(Network::parse("wifi"), Some(Network::Wifi));
        assert_eq!(Network::parse("cellular"), Some(Network::Cellular));
        assert_eq!(Network::parse("5g"), None);
    }
}
