//! The durable outbox: what each record and photo file is waiting for.
//!
//! Every evidence-chain link is one record to push (protocol `seq` = chain seq + 1):
//!
//! | chain kind | wire kind | payload | photos it references |
//! |---|---|---|---|
//! | `photo` | `evidence` | `photo.payload` | its derived photo |
//! | `inspection` | `inspection` | `inspection.payload` | every photo attached to it |
//! | `hazard_event` | `hazard_event` | `hazard_event.event` | — |
//! | `signature` | `evidence` | `signature.payload` | its PNG |
//! | `lease` | `lease` (protocol 4) | `lease_record.payload` | — |
//!
//! States of a record: `queued` → `sending` → `accepted` (server holds the data) →
//! `complete` (server holds every photo it references), or `failed` (will be retried;
//! the error says why) or `rejected` (permanent, the server's per-record code). A photo:
//! `queued` → `sending` (tus upload under way, offset kept) → `complete`, or `failed`.

use super::SyncError;
use crate::error::StoreError;
use crate::store::Store;
use gridwalk_protocol::{Outcome, PushResponse, ReceiptBody, RecordEnvelope, RecordKind};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// State of one outbox record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    Queued,
    Sending,
    Failed,
    Accepted,
    Complete,
    Rejected,
}

impl RecordState {
    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Queued => "queued",
            RecordState::Sending => "sending",
            RecordState::Failed => "failed",
            RecordState::Accepted => "accepted",
            RecordState::Complete => "complete",
            RecordState::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Result<RecordState, StoreError> {
        Ok(match s {
            "queued" => RecordState::Queued,
            "sending" => RecordState::Sending,
            "failed" => RecordState::Failed,
            "accepted" => RecordState::Accepted,
            "complete" => RecordState::Complete,
            "rejected" => RecordState::Rejected,
            other => {
                return Err(StoreError::Corrupt {
                    table: "sync_record",
                    column: "state",
                    detail: format!("unknown state {other:?}"),
                })
            }
        })
    }
}

/// Records per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub queued: u64,
    pub sending: u64,
    pub failed: u64,
    pub accepted: u64,
    pub complete: u64,
    pub rejected: u64,
}

/// Photo files per state, and their bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhotoCounts {
    pub queued: u64,
    pub sending: u64,
    pub failed: u64,
    pub complete: u64,
    /// Files only refused records referenced: never asked for.
    pub rejected: u64,
    /// Bytes of every photo file in the outbox.
    pub bytes_total: u64,
    /// Bytes the server holds (complete files plus the offsets of partial uploads).
    pub bytes_done: u64,
}

/// A code and message, for errors shown per record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodedError {
    pub code: String,
    pub message: String,
}

/// What `gridwalk status` and the app's Sync screen show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub enrolled: bool,
    pub server: Option<String>,
    /// The device id the server gave at enrollment.
    pub device_id: Option<Uuid>,
    pub user: Option<gridwalk_protocol::EnrolledUser>,
    pub records: OutboxCounts,
    pub photos: PhotoCounts,
    /// Records not yet complete and not rejected, plus photos not yet on the server.
    pub pending: u64,
    pub photos_wifi_only: bool,
    pub last_success_at: Option<String>,
    pub last_error: Option<super::enrollment::LastError>,
    /// Device clock minus server clock at the last push, in seconds.
    pub clock_skew_seconds: Option<i64>,
    /// Hazard events pulled from other devices that wait for what they build on (a
    /// creation's enterprise, any other event's hazard creation); see
    /// `hazard_event_pending.reason`. An event that is not legal where it falls does not
    /// wait: it is stored and the fold skips it (`inspection::hazards`).
    pub hazard_events_waiting: u64,
    /// Records and photos a person must look at: refused by the server, or held back
    /// here; each with the reason and what to do. While any is listed, `gridwalk sync`
    /// does not exit 0 and the app shows an error.
    pub attention: Vec<AttentionItem>,
}

/// A record or photo file that will not reach the server without a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttentionItem {
    /// `record` or `photo`.
    pub item: &'static str,
    /// The record id, or the photo file's SHA-256.
    pub id: String,
    /// The chain kind of a record (`inspection`, `photo`, …), or `photo`/`signature` for
    /// a file.
    pub kind: String,
    /// The record's position in the device's sequence.
    pub seq: Option<u64>,
    /// Its outbox state (`rejected`, `failed`).
    pub state: String,
    /// The reason's code (`server.<problem>` for the server's, else this phone's).
    pub code: String,
    /// The reason in words (the server's detail, or this phone's).
    pub message: String,
    /// What to do about it.
    pub action: &'static str,
}

/// What a person does about a record or photo refused or held back, by reason code.
pub fn action_for(code: &str) -> &'static str {
    match code {
        "server.payload_too_large" => {
            "the record is over the server's size limit; it stays whole on this phone and the server holds its hash: record what matters again in a shorter inspection, and keep the phone for a reviewer"
        }
        "server.chain_broken" | "evidence.chain_broken" => {
            "the phone's evidence was altered after it was recorded: keep the phone as it is and call a reviewer"
        }
        "evidence.local_file" => {
            "a photo file on this phone is missing or altered: keep the phone as it is and call a reviewer"
        }
        "server.forbidden_jurisdiction" | "server.forbidden_role" => {
            "the enrolled user may not record this: check the user's jurisdiction and role with an administrator"
        }
        "server.record_conflict" | "server.record_id_taken" => {
            "the server holds another record under this id: call an administrator"
        }
        "server.unknown_enterprise" => "the enterprise is not in the server's register: ask an officer to add it",
        "server.unknown_hazard" => "the hazard this event is for never reached the server: sync the phone that created it",
        "server.record_rejected" => "every record using this file was refused: see those records",
        _ => "the server refused it for good: show it to an administrator with this reason",
    }
}

/// One record as the Sync screen lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRecordView {
    /// The record id (UUID v7).
    pub id: String,
    /// Wire kind (`inspection`, `evidence`, `hazard_event`).
    pub kind: &'static str,
    /// The evidence-chain kind (`inspection`, `photo`, `signature`, `hazard_event`).
    pub chain_kind: String,
    /// `seq` on the wire.
    pub seq: u64,
    /// What it is about: the checklist title and the enterprise for an inspection,
    /// else the enterprise name (empty if none).
    pub label: String,
    pub state: RecordState,
    pub error: Option<CodedError>,
    pub photos_total: u64,
    pub photos_done: u64,
    pub bytes_total: u64,
    pub bytes_done: u64,
    pub updated_at: String,
}

/// A photo file the outbox must deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboxPhoto {
    pub sha256: String,
    pub source: String,
    pub bytes: u64,
    pub upload_url: Option<String>,
    pub upload_offset: u64,
}

impl OutboxPhoto {
    /// The file name sent in the tus metadata (`<sha256>.jpg`, or `.png` for a
    /// signature).
    pub(crate) fn upload_name(&self) -> String {
        let ext = if self.source == "signature" {
            "png"
        } else {
            "jpg"
        };
        format!("{}.{ext}", self.sha256)
    }
}

/// What a push answer asks of the device beyond each record's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PushApplied {
    /// The server expects this position first (a gap).
    pub gap: Option<u64>,
    /// A record's position is held by another record: the device must fork.
    pub reused: bool,
}

/// `device_meta` key of the limits the server published.
const SERVER_LIMITS: &str = "sync.limits";

/// An envelope as it goes on the wire: at its position in the device's sequence (after a
/// fork, not its chain position + 1, which its link then names), marked as a fork's first
/// record, and without its payload when the payload is over the server's limit.
fn on_the_wire(
    mut env: RecordEnvelope,
    (wire_seq, fork, withheld): (i64, bool, bool),
    limits: &gridwalk_protocol::ServerLimits,
) -> RecordEnvelope {
    let wire_seq = wire_seq.max(1) as u64;
    if wire_seq != env.seq {
        if let Some(link) = env.link.as_mut() {
            link.seq = Some(env.seq - 1);
        }
        env.seq = wire_seq;
    }
    env.fork = fork;
    if withheld || env.payload.len() as u64 > limits.max_payload_bytes {
        env.payload = String::new();
        env.withheld = true;
    }
    env
}

/// The positions a receipt names for duplicates are positions the server already took
/// (below its `next_seq`), one record each: anything else is a receipt no server
/// following the protocol signs, refused before it can wedge the outbox.
fn check_moves(moves: &[(u64, u64)], next_seq: u64) -> Result<(), String> {
    let mut targets = HashSet::new();
    for (from, to) in moves {
        if *to >= next_seq {
            return Err(format!(
                "the receipt holds a record sent at {from} at {to}, not below the next position {next_seq}"
            ));
        }
        if !targets.insert(*to) {
            return Err(format!("the receipt holds two records at position {to}"));
        }
    }
    Ok(())
}

/// Moves records the server holds at other positions than this phone numbered them
/// (`(from, to)` wire positions; a duplicate of a phone restored from a copy older than
/// a fork) to the server's positions. A record of this phone that sits at a target and is
/// not moved itself is wrong about its position too: it is queued again past every
/// position in use, and the caller forks. Returns how many records were displaced so.
fn relocate(
    tx: &rusqlite::Transaction<'_>,
    moves: &[(u64, u64)],
    now: &str,
) -> Result<usize, StoreError> {
    if moves.is_empty() {
        return Ok(0);
    }
    let mut chain = Vec::with_capacity(moves.len());
    for (from, to) in moves {
        let chain_seq: Option<i64> = tx
            .query_row(
                "SELECT chain_seq FROM sync_record WHERE wire_seq = ?1",
                [*from as i64],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(c) = chain_seq {
            // Out of the way first, so the unique positions never collide.
            tx.execute(
                "UPDATE sync_record SET wire_seq = -1000000000 - chain_seq WHERE chain_seq = ?1",
                [c],
            )?;
            chain.push((c, *to as i64));
        }
    }
    let mut beyond: i64 = tx.query_row(
        "SELECT coalesce(max(wire_seq), 0) FROM sync_record",
        [],
        |r| r.get(0),
    )?;
    beyond = beyond.max(chain.iter().map(|(_, to)| *to).max().unwrap_or(0));
    let mut displaced = 0;
    for (_, to) in &chain {
        beyond += 1;
        displaced += tx.execute(
            "UPDATE sync_record SET wire_seq = ?2, fork = 0, state = 'queued', error_code = NULL, \
             error_message = NULL, updated_at = ?3 WHERE wire_seq = ?1",
            params![to, beyond, now],
        )?;
    }
    for (c, to) in &chain {
        tx.execute(
            "UPDATE sync_record SET wire_seq = ?2, fork = 0 WHERE chain_seq = ?1",
            params![c, to],
        )?;
    }
    Ok(displaced)
}

/// True if a record not refused by the server references the file `sha256`.
fn photo_still_needed(conn: &rusqlite::Connection, sha256: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM photo p JOIN evidence_chain c ON c.record_id = p.id \
             JOIN sync_record s ON s.chain_seq = c.seq \
             WHERE p.derived_sha256 = ?1 AND s.state != 'rejected') \
         OR EXISTS (SELECT 1 FROM signature g JOIN evidence_chain c ON c.record_id = g.id \
             JOIN sync_record s ON s.chain_seq = c.seq \
             WHERE g.png_sha256 = ?1 AND s.state != 'rejected') \
         OR EXISTS (SELECT 1 FROM inspection_photo ip JOIN evidence_chain c ON c.record_id = ip.inspection_id \
             JOIN sync_record s ON s.chain_seq = c.seq \
             WHERE ip.sha256 = ?1 AND s.state != 'rejected') \
         OR EXISTS (SELECT 1 FROM inspection_photo ip JOIN inspection i ON i.id = ip.inspection_id \
             WHERE ip.sha256 = ?1 AND i.payload IS NULL)",
        [sha256],
        |r| r.get(0),
    )?)
}

/// The wire kind of a chain kind.
fn wire_kind(chain_kind: &str) -> Option<RecordKind> {
    match chain_kind {
        "inspection" => Some(RecordKind::Inspection),
        "hazard_event" => Some(RecordKind::HazardEvent),
        "photo" | "signature" => Some(RecordKind::Evidence),
        "lease" => Some(RecordKind::Lease),
        "suspected_confirmation" => Some(RecordKind::SuspectedConfirmation),
        _ => None,
    }
}

impl Store {
    /// Builds the envelopes of the next records to push (queued, sending or failed), in
    /// chain order, at most `limit` of them and about `max_bytes` of payload.
    pub(crate) fn pending_envelopes(
        &self,
        limit: usize,
        max_bytes: usize,
        jurisdiction: &str,
    ) -> Result<Vec<RecordEnvelope>, SyncError> {
        type LinkRow = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            i64,
            bool,
            bool,
        );
        let limits = self.server_limits()?;
        // One row more than is sent: a break between the last record sent and the next
        // one makes the last one suspect too.
        let rows: Vec<LinkRow> = {
            let mut stmt = self.conn.prepare(
                "SELECT c.seq, c.kind, c.record_id, c.payload_sha256, c.created_at, \
                        c.device_id, c.prev_hash, c.hash, c.at_ms, s.wire_seq, s.fork, s.withheld \
                 FROM sync_record s JOIN evidence_chain c ON c.seq = s.chain_seq \
                 WHERE s.state IN ('queued', 'sending', 'failed') ORDER BY s.chain_seq LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64 + 1], |r| r.try_into())?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out: Vec<RecordEnvelope> = Vec::with_capacity(rows.len());
        let mut bytes = 0usize;
        let mut full = false;
        // Nothing broken leaves the phone: each link is checked against its fields and
        // the link before it before its record is sent. The records before a break go;
        // the two records on either side of it, and what follows, stay, and the sync
        // fails loudly (docs/evidence.md).
        let mut previous: Option<(u64, String)> = None;
        for (
            index,
            (
                seq,
                chain_kind,
                record_id,
                sha,
                created_at,
                device,
                prev_hash,
                hash,
                at_ms,
                wire_seq,
                fork,
                withheld,
            ),
        ) in rows.into_iter().enumerate()
        {
            let link = gridwalk_evidence::chain::ChainLink {
                device_id: device,
                seq: seq.max(0) as u64,
                kind: chain_kind.clone(),
                payload_sha256: sha.clone(),
                at_ms,
                prev_hash,
                hash,
            };
            let expected_prev: Option<String> = match (&previous, link.seq) {
                (_, 0) => Some(gridwalk_evidence::chain::GENESIS_PREV_HASH.to_string()),
                (Some((p, h)), s) if p + 1 == s => Some(h.clone()),
                (_, s) => self
                    .conn
                    .query_row(
                        "SELECT hash FROM evidence_chain WHERE seq = ?1",
                        [s as i64 - 1],
                        |r| r.get(0),
                    )
                    .optional()?,
            };
            previous = Some((link.seq, link.hash.clone()));
            let broken = if link.computed_hash() != link.hash {
                Some("its chain link does not match its fields (altered after it was chained)")
            } else if expected_prev.as_deref() != Some(link.prev_hash.as_str()) {
                // The record before it is as suspect as this one.
                // (Compared by chain position: after a fork the wire positions differ.)
                if out.last().is_some_and(|e| {
                    e.link
                        .as_ref()
                        .and_then(|l| l.chain_seq(e.seq))
                        .is_some_and(|s| s + 1 == link.seq)
                }) {
                    out.pop();
                }
                Some("its chain link does not follow the link before it")
            } else {
                None
            };
            let env = match broken {
                Some(why) => Err(SyncError::BrokenChain {
                    seq: link.seq,
                    detail: format!("{chain_kind} {record_id}: {why}"),
                }),
                None if index >= limit || full => continue,
                None => self
                    .envelope(&link, &record_id, &created_at, jurisdiction)
                    .map(|env| on_the_wire(env, (wire_seq, fork, withheld), &limits)),
            };
            let env = match env {
                Ok(env) => env,
                Err(e @ (SyncError::BrokenChain { .. } | SyncError::LocalEvidence(_))) => {
                    if out.is_empty() {
                        if let SyncError::BrokenChain { seq, .. } = &e {
                            self.mark_held_back(*seq as i64, &e)?;
                        }
                        return Err(e);
                    }
                    // Send what precedes it; the next round stops here with the error.
                    break;
                }
                Err(e) => return Err(e),
            };
            // The JSON size of the envelope (escapes included), not just the payload.
            bytes += serde_json::to_vec(&env).map_or(env.payload.len() * 2, |v| v.len());
            if !out.is_empty() && bytes > max_bytes {
                // Full; the links after it are still looked at for one more break.
                full = true;
                continue;
            }
            out.push(env);
        }
        Ok(out)
    }

    /// The limits the server published (this build's own until it did).
    pub fn server_limits(&self) -> Result<gridwalk_protocol::ServerLimits, StoreError> {
        Ok(crate::store::meta(&self.conn, SERVER_LIMITS)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Keeps the limits the server published (each sync's reconcile answer brings them).
    pub fn set_server_limits(
        &self,
        limits: &gridwalk_protocol::ServerLimits,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(limits).map_err(|e| StoreError::Corrupt {
            table: "device_meta",
            column: "value",
            detail: format!("sync.limits: {e}"),
        })?;
        crate::store::set_meta(&self.conn, SERVER_LIMITS, &text)
    }

    /// True if one of this phone's records is at `wire_seq` of the device's sequence.
    pub(crate) fn holds_position(&self, wire_seq: u64) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sync_record WHERE wire_seq = ?1)",
            [wire_seq as i64],
            |r| r.get(0),
        )?)
    }

    /// Pulls the register again from the start at the next pass.
    pub(crate) fn reset_pull_cursor(&self) -> Result<(), StoreError> {
        Store::set_pull_cursor_in(&self.conn, "")
    }

    /// Withholds the payload of the record at this position: the server refused it as
    /// too large even alone, so only its link and hash are sent (it is set aside there
    /// as `payload_too_large`, kept whole here).
    pub(crate) fn set_withheld(&self, wire_seq: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_record SET withheld = 1, updated_at = ?2 WHERE wire_seq = ?1",
            params![wire_seq as i64, super::now()],
        )?;
        Ok(())
    }

    /// Records why a link is held back, so `status` shows it.
    fn mark_held_back(&self, chain_seq: i64, e: &SyncError) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_record SET state = 'failed', error_code = ?2, error_message = ?3, \
             updated_at = ?4 WHERE chain_seq = ?1",
            params![chain_seq, e.code(), e.to_string(), super::now()],
        )?;
        Ok(())
    }

    fn envelope(
        &self,
        link: &gridwalk_evidence::chain::ChainLink,
        record_id: &str,
        created_at: &str,
        jurisdiction: &str,
    ) -> Result<RecordEnvelope, SyncError> {
        let seq = link.seq;
        let chain_kind = link.kind.as_str();
        let payload_sha256 = link.payload_sha256.as_str();
        let corrupt = |detail: String| {
            SyncError::Store(StoreError::Corrupt {
                table: "evidence_chain",
                column: "record_id",
                detail,
            })
        };
        let kind = wire_kind(chain_kind)
            .ok_or_else(|| corrupt(format!("link {seq}: unknown kind {chain_kind:?}")))?;
        let id = Uuid::parse_str(record_id)
            .map_err(|e| corrupt(format!("link {seq}: record id {record_id:?}: {e}")))?;
        let (payload, uscc) = crate::evidence::record_payload(&self.conn, chain_kind, record_id)?
            .ok_or_else(|| {
            corrupt(format!("link {seq}: {chain_kind} {record_id} has no row"))
        })?;
        let payload = String::from_utf8(payload).map_err(|e| {
            corrupt(format!(
                "{chain_kind} {record_id}: payload is not UTF-8: {e}"
            ))
        })?;
        let actual = gridwalk_protocol::sha256_hex(payload.as_bytes());
        if actual != payload_sha256 {
            return Err(SyncError::BrokenChain {
                seq,
                detail: format!(
                    "{chain_kind} {record_id}: payload hash {actual} differs from its chain link {payload_sha256}"
                ),
            });
        }
        // The photos the server must hold come from the frozen payload, never from
        // columns that could be edited beside it.
        let photos = gridwalk_protocol::chain::photos_named(chain_kind, &payload).map_err(|e| {
            SyncError::BrokenChain {
                seq,
                detail: format!("{chain_kind} {record_id}: {e}"),
            }
        })?;
        // A version 2 link carries the device time under its hash, to the millisecond.
        let device_time = match link.at_ms {
            Some(ms) => chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms),
            None => chrono::DateTime::parse_from_rfc3339(created_at)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc)),
        };
        // The enterprise's village goes along with its USCC, so an enterprise the server's
        // register lacks is still placed (and checked) by division; without an
        // enterprise, the enrolled user's jurisdiction; an answer to a 疑似 entry, the
        // entry's village.
        let division_code = match &uscc {
            None if chain_kind == "suspected_confirmation" => self
                .conn
                .query_row(
                    "SELECT village_code FROM suspected_record WHERE id = ?1",
                    [record_id],
                    |r| r.get::<_, String>(0),
                )
                .optional()?,
            Some(u) => self
                .conn
                .query_row(
                    "SELECT village_code FROM enterprise WHERE uscc = ?1",
                    [u],
                    |r| r.get::<_, String>(0),
                )
                .optional()?,
            None => Some(jurisdiction.to_string()).filter(|j| !j.is_empty()),
        };
        Ok(RecordEnvelope {
            link: Some(gridwalk_protocol::chain::ChainProof {
                version: link.version(),
                device: link.device_id.clone(),
                kind: chain_kind.to_string(),
                prev_hash: link.prev_hash.clone(),
                hash: link.hash.clone(),
                seq: None,
            }),
            id,
            kind,
            seq: seq + 1,
            payload_sha256: actual,
            payload,
            enterprise_uscc: uscc,
            division_code,
            photos,
            device_time,
            fork: false,
            withheld: false,
        })
    }

    /// Marks records as being sent (committed before the request goes out).
    pub(crate) fn mark_sending(&self, sent: &[RecordEnvelope]) -> Result<(), StoreError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let now = super::now();
        {
            let mut stmt = tx.prepare(
                "UPDATE sync_record SET state = 'sending', attempts = attempts + 1, photos = ?2, \
                 updated_at = ?3 WHERE wire_seq = ?1 AND state IN ('queued', 'sending', 'failed')",
            )?;
            for e in sent {
                let photos = serde_json::to_string(&e.photos).unwrap_or_else(|_| "[]".into());
                stmt.execute(params![e.seq as i64, photos, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks records as failed (retryable) after a whole-request failure.
    pub(crate) fn mark_failed(
        &self,
        sent: &[RecordEnvelope],
        err: &SyncError,
    ) -> Result<(), StoreError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let now = super::now();
        {
            let mut stmt = tx.prepare(
                "UPDATE sync_record SET state = 'failed', error_code = ?2, error_message = ?3, \
                 updated_at = ?4 WHERE wire_seq = ?1 AND state = 'sending'",
            )?;
            for e in sent {
                stmt.execute(params![e.seq as i64, err.code(), err.to_string(), now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Applies a push answer whose receipt verified: each record's outcome, the receipt
    /// kept as proof, in one transaction. Says whether the server reported a gap (its
    /// `expected_seq`) or a reused sequence number (the phone must fork).
    pub(crate) fn apply_push(
        &self,
        sent: &[RecordEnvelope],
        resp: &PushResponse,
        receipt: &ReceiptBody,
    ) -> Result<PushApplied, SyncError> {
        let held: HashSet<(Uuid, &str)> = receipt
            .records
            .iter()
            .map(|r| (r.id, r.payload_sha256.as_str()))
            .collect();
        let links: HashMap<Uuid, Option<&str>> = receipt
            .records
            .iter()
            .map(|r| (r.id, r.link_sha256.as_deref()))
            .collect();
        let held_at: HashMap<Uuid, u64> = receipt.records.iter().map(|r| (r.id, r.seq)).collect();
        let by_id: HashMap<Uuid, &RecordEnvelope> = sent.iter().map(|e| (e.id, e)).collect();
        let mut moves: Vec<(u64, u64)> = Vec::new();
        let tx = crate::inspection::begin(&self.conn)?;
        let now = super::now();
        let mut gap = None;
        let mut reused = false;
        let mut refused: Vec<&RecordEnvelope> = Vec::new();
        for r in &resp.results {
            let Some(env) = by_id.get(&r.id) else {
                continue;
            };
            let wire_seq = env.seq as i64;
            let (state, code, message): (&str, Option<String>, Option<String>) = match &r.outcome {
                Outcome::Accepted | Outcome::Duplicate => {
                    if !held.contains(&(env.id, env.payload_sha256.as_str())) {
                        return Err(SyncError::BadReceipt(format!(
                            "record {} reported stored but missing from the signed receipt",
                            env.id
                        )));
                    }
                    // The server signs the link it holds; it must be this one.
                    let signed = links.get(&env.id).copied().flatten();
                    if let (Some(signed), Some(link)) = (signed, &env.link) {
                        if signed != link.hash {
                            return Err(SyncError::BadReceipt(format!(
                                "the receipt signs link {signed} for record {}, not {}",
                                env.id, link.hash
                            )));
                        }
                    }
                    match held_at.get(&env.id) {
                        Some(&at) if at != env.seq && at > 0 && at <= i64::MAX as u64 => {
                            moves.push((env.seq, at))
                        }
                        _ => {}
                    }
                    let state = if env.photos.is_empty() {
                        "complete"
                    } else {
                        "accepted"
                    };
                    (state, None, None)
                }
                Outcome::Conflict { existing_sha256 } => (
                    "rejected",
                    Some("server.record_conflict".into()),
                    Some(format!(
                        "the server holds this record with another hash ({existing_sha256})"
                    )),
                ),
                Outcome::Gap { expected_seq } => {
                    gap = Some(gap.map_or(*expected_seq, |g: u64| g.min(*expected_seq)));
                    (
                        "queued",
                        Some("server.sequence_gap".into()),
                        Some(format!("the server expects seq {expected_seq} first")),
                    )
                }
                // Nothing was stored: the server holds another record at this position
                // (this phone's database went back in time). It forks; see `fork_from`.
                Outcome::Rejected {
                    code: gridwalk_protocol::ProblemCode::SeqReused,
                    detail,
                } => {
                    reused = true;
                    (
                        "queued",
                        Some("server.seq_reused".into()),
                        Some(detail.clone()),
                    )
                }
                Outcome::Rejected { code, detail } => (
                    "rejected",
                    Some(format!("server.{}", code.as_str())),
                    Some(detail.clone()),
                ),
            };
            tx.execute(
                "UPDATE sync_record SET state = ?2, error_code = ?3, error_message = ?4, updated_at = ?5 \
                 WHERE wire_seq = ?1 AND state NOT IN ('complete', 'rejected')",
                params![wire_seq, state, code, message, now],
            )?;
            if state == "rejected" {
                refused.push(env);
            }
        }
        check_moves(&moves, resp.next_seq).map_err(SyncError::BadReceipt)?;
        if relocate(&tx, &moves, &now)? > 0 {
            // Records moved out of the positions the server holds others at: pending
            // again, they go on from the server's next position.
            reused = true;
        }
        for env in refused {
            for sha in &env.photos {
                if !photo_still_needed(&tx, sha)? {
                    tx.execute(
                        "UPDATE sync_photo SET state = 'rejected', error_code = 'server.record_rejected', \
                         error_message = 'every record referencing this file was refused', updated_at = ?2 \
                         WHERE sha256 = ?1 AND state != 'complete'",
                        params![sha, now],
                    )?;
                }
            }
        }
        let r = &resp.receipt;
        tx.execute(
            "INSERT INTO sync_receipt (received_at, key_id, body, signature) VALUES (?1, ?2, ?3, ?4)",
            params![now, r.key_id, r.body, r.signature],
        )?;
        tx.commit().map_err(StoreError::from)?;
        Ok(PushApplied { gap, reused })
    }

    /// Forks the device's sequence (docs/sync-client.md): every record the server has not
    /// taken is renumbered from `server_next` on (or after the last position this phone
    /// holds as delivered, if that is later), in chain order; the first is marked as a
    /// fork, so the server accepts its link continuing a link it holds other than its
    /// head. Returns how many records were renumbered.
    pub(crate) fn fork_from(&self, server_next: u64) -> Result<usize, StoreError> {
        let tx = crate::inspection::begin(&self.conn)?;
        let pending: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT chain_seq FROM sync_record WHERE state IN ('queued', 'sending', 'failed') \
                 AND wire_seq > 0 ORDER BY chain_seq",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let delivered_max: i64 = tx.query_row(
            "SELECT coalesce(max(wire_seq), 0) FROM sync_record \
             WHERE state NOT IN ('queued', 'sending', 'failed')",
            [],
            |r| r.get(0),
        )?;
        let start = (server_next as i64).max(delivered_max + 1);
        // Out of the way first (below the range an earlier user's records keep), so the
        // unique positions never collide while renumbering.
        tx.execute(
            "UPDATE sync_record SET wire_seq = -1000000000 - chain_seq \
             WHERE state IN ('queued', 'sending', 'failed') AND wire_seq > 0",
            [],
        )?;
        let now = super::now();
        for (i, chain_seq) in pending.iter().enumerate() {
            tx.execute(
                "UPDATE sync_record SET wire_seq = ?2, fork = ?3, state = 'queued', \
                 error_code = NULL, error_message = NULL, updated_at = ?4 WHERE chain_seq = ?1",
                params![chain_seq, start + i as i64, i == 0, now],
            )?;
        }
        tx.commit()?;
        Ok(pending.len())
    }

    /// Queues again every record from protocol seq `from` on (the server lost them or
    /// never saw them: a restored server, a gap).
    pub(crate) fn requeue_from(&self, from_seq: u64) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE sync_record SET state = 'queued', updated_at = ?2 \
             WHERE wire_seq >= ?1 AND state IN ('accepted', 'complete', 'sending', 'failed', 'rejected')",
            params![from_seq as i64, super::now()],
        )?)
    }

    /// Photo files not yet known to be on the server.
    pub(crate) fn photos_not_complete(&self) -> Result<Vec<OutboxPhoto>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT sha256, source, bytes, upload_url, upload_offset FROM sync_photo \
             WHERE state != 'complete' ORDER BY updated_at, sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OutboxPhoto {
                sha256: r.get(0)?,
                source: r.get(1)?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                upload_url: r.get(3)?,
                upload_offset: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The bytes of a photo file (derived photo or signature PNG), checked against its
    /// hash.
    pub(crate) fn outbox_photo_bytes(&self, p: &OutboxPhoto) -> Result<Vec<u8>, SyncError> {
        let bytes = match p.source.as_str() {
            "signature" => self
                .conn
                .query_row(
                    "SELECT png FROM signature WHERE png_sha256 = ?1 LIMIT 1",
                    [&p.sha256],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .optional()?
                .ok_or_else(|| {
                    SyncError::LocalEvidence(format!("signature {} has no row", p.sha256))
                })?,
            _ => {
                let path = self.photo_dir().join(format!("{}.jpg", p.sha256));
                std::fs::read(&path).map_err(|e| {
                    SyncError::LocalEvidence(format!("cannot read {}: {e}", path.display()))
                })?
            }
        };
        let actual = gridwalk_protocol::sha256_hex(&bytes);
        if actual != p.sha256 {
            return Err(SyncError::LocalEvidence(format!(
                "photo file {} was altered (hash {actual})",
                p.sha256
            )));
        }
        Ok(bytes)
    }

    /// Remembers a tus upload's address and the server's offset.
    pub(crate) fn set_photo_progress(
        &self,
        sha256: &str,
        upload_url: Option<&str>,
        offset: u64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_photo SET state = 'sending', upload_url = ?2, upload_offset = ?3, \
             error_code = NULL, error_message = NULL, updated_at = ?4 WHERE sha256 = ?1",
            params![sha256, upload_url, offset as i64, super::now()],
        )?;
        Ok(())
    }

    /// Queues again photo files the server says it lacks though this device holds them
    /// as delivered (a server restored from backup, an upload it never finished).
    pub(crate) fn requeue_photos(&self, missing: &HashSet<String>) -> Result<usize, StoreError> {
        let mut n = 0;
        for sha in missing {
            n += self.conn.execute(
                "UPDATE sync_photo SET state = 'queued', upload_url = NULL, upload_offset = 0, \
                 updated_at = ?2 WHERE sha256 = ?1 AND state = 'complete'",
                params![sha, super::now()],
            )?;
        }
        Ok(n)
    }

    /// Marks a photo file as held by the server.
    pub(crate) fn set_photo_complete(&self, sha256: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_photo SET state = 'complete', upload_offset = bytes, error_code = NULL, \
             error_message = NULL, updated_at = ?2 WHERE sha256 = ?1",
            params![sha256, super::now()],
        )?;
        Ok(())
    }

    /// Marks a photo upload as failed (retried next pass).
    pub(crate) fn set_photo_failed(&self, sha256: &str, err: &SyncError) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sync_photo SET state = 'failed', error_code = ?2, error_message = ?3, \
             updated_at = ?4 WHERE sha256 = ?1",
            params![sha256, err.code(), err.to_string(), super::now()],
        )?;
        Ok(())
    }

    /// Photo hashes referenced by records the server has accepted.
    pub(crate) fn photos_of_accepted_records(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT photos FROM sync_record WHERE state IN ('accepted', 'complete') AND photos IS NOT NULL",
        )?;
        let mut out = HashSet::new();
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let list: Vec<String> = serde_json::from_str(&row?).unwrap_or_default();
            out.extend(list);
        }
        Ok(out)
    }

    /// Turns `accepted` records whose photos the server no longer lacks into
    /// `complete`. Returns how many changed.
    pub(crate) fn complete_records(&self, missing: &HashSet<String>) -> Result<usize, StoreError> {
        let rows: Vec<(i64, String)> = {
            let mut stmt = self.conn.prepare(
                "SELECT chain_seq, coalesce(photos, '[]') FROM sync_record WHERE state = 'accepted'",
            )?;
            let rows = stmt.query_map([], |r| r.try_into())?;
            rows.collect::<Result<_, _>>()?
        };
        let tx = crate::inspection::begin(&self.conn)?;
        let now = super::now();
        let mut changed = 0;
        for (seq, photos) in rows {
            let list: Vec<String> = serde_json::from_str(&photos).unwrap_or_default();
            if list.iter().all(|p| !missing.contains(p)) {
                changed += tx.execute(
                    "UPDATE sync_record SET state = 'complete', updated_at = ?2 WHERE chain_seq = ?1",
                    params![seq, now],
                )?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Counts per state, enrollment, last success and error.
    pub fn sync_status(&self) -> Result<SyncStatus, StoreError> {
        let mut records = OutboxCounts::default();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT state, count(*) FROM sync_record GROUP BY state")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (state, n) = row?;
                let n = n as u64;
                match RecordState::parse(&state)? {
                    RecordState::Queued => records.queued = n,
                    RecordState::Sending => records.sending = n,
                    RecordState::Failed => records.failed = n,
                    RecordState::Accepted => records.accepted = n,
                    RecordState::Complete => records.complete = n,
                    RecordState::Rejected => records.rejected = n,
                }
            }
        }
        let mut photos = PhotoCounts::default();
        {
            let mut stmt = self.conn.prepare(
                "SELECT state, count(*), sum(bytes), \
                 sum(CASE WHEN state = 'complete' THEN bytes ELSE min(upload_offset, bytes) END) \
                 FROM sync_photo GROUP BY state",
            )?;
            for row in stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })? {
                let (state, n, total, done) = row?;
                let n = n as u64;
                photos.bytes_total += total.unwrap_or(0).max(0) as u64;
                photos.bytes_done += done.unwrap_or(0).max(0) as u64;
                match state.as_str() {
                    "queued" => photos.queued = n,
                    "sending" => photos.sending = n,
                    "failed" => photos.failed = n,
                    "rejected" => photos.rejected = n,
                    _ => photos.complete = n,
                }
            }
        }
        let enrollment = self.enrollment()?;
        let pending = records.queued
            + records.sending
            + records.failed
            + records.accepted
            + photos.queued
            + photos.sending
            + photos.failed;
        Ok(SyncStatus {
            enrolled: enrollment.is_some(),
            server: enrollment.as_ref().map(|e| e.server_url.clone()),
            device_id: enrollment.as_ref().map(|e| e.device_id),
            user: enrollment.map(|e| e.user),
            records,
            photos,
            pending,
            photos_wifi_only: self.settings()?.wifi_only_photos,
            last_success_at: self.last_sync_success()?,
            last_error: self.last_sync_error()?,
            clock_skew_seconds: self.clock_skew_seconds()?,
            hazard_events_waiting: self.conn.query_row(
                "SELECT count(*) FROM hazard_event_pending",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64,
            attention: self.attention()?,
        })
    }

    /// Every record the server refused or this phone holds back, and every photo file
    /// that failed or was refused, with the reason and what to do.
    pub fn attention(&self) -> Result<Vec<AttentionItem>, StoreError> {
        let mut out = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT c.record_id, c.kind, s.wire_seq, s.state, s.error_code, s.error_message \
                 FROM sync_record s JOIN evidence_chain c ON c.seq = s.chain_seq \
                 WHERE s.wire_seq > 0 AND (s.state = 'rejected' \
                       OR (s.state = 'failed' AND s.error_code LIKE 'evidence.%')) \
                 ORDER BY s.wire_seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            for row in rows {
                let (id, kind, seq, state, code, message) = row?;
                let code = code.unwrap_or_else(|| "server.unrecognized".into());
                out.push(AttentionItem {
                    item: "record",
                    id,
                    kind,
                    seq: Some(seq.max(0) as u64),
                    state,
                    action: action_for(&code),
                    code,
                    message: message.unwrap_or_default(),
                });
            }
        }
        let mut stmt = self.conn.prepare(
            "SELECT p.sha256, p.source, p.state, p.error_code, p.error_message FROM sync_photo p \
             WHERE (p.state = 'rejected' OR (p.state = 'failed' AND p.error_code LIKE 'evidence.%')) \
             AND EXISTS (SELECT 1 FROM sync_record s WHERE s.wire_seq > 0 \
                         AND s.photos LIKE '%' || p.sha256 || '%') \
             ORDER BY p.sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        for row in rows {
            let (sha, source, state, code, message) = row?;
            let code = code.unwrap_or_else(|| "server.unrecognized".into());
            out.push(AttentionItem {
                item: "photo",
                id: sha,
                kind: source,
                seq: None,
                state,
                action: action_for(&code),
                code,
                message: message.unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Records for the Sync screen: every one not yet complete, then the `recent`
    /// latest complete ones; newest first within each group.
    pub fn sync_records(&self, recent: usize) -> Result<Vec<SyncRecordView>, StoreError> {
        let photo_state: HashMap<String, (String, u64, u64)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT sha256, state, bytes, upload_offset FROM sync_photo")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?.max(0) as u64,
                        r.get::<_, i64>(3)?.max(0) as u64,
                    ),
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let sql = "SELECT * FROM (SELECT s.wire_seq, c.kind, c.record_id, s.state, s.error_code, \
                   s.error_message, s.photos, s.updated_at FROM sync_record s \
                   JOIN evidence_chain c ON c.seq = s.chain_seq WHERE s.state != 'complete' \
                   ORDER BY s.chain_seq DESC) \
                   UNION ALL SELECT * FROM (SELECT s.wire_seq, c.kind, c.record_id, s.state, \
                   s.error_code, s.error_message, s.photos, s.updated_at FROM sync_record s \
                   JOIN evidence_chain c ON c.seq = s.chain_seq WHERE s.state = 'complete' \
                   ORDER BY s.chain_seq DESC LIMIT ?1)";
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([recent as i64], |r| Row::try_from(r))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (seq, chain_kind, record_id, state, code, message, photos, updated_at) in rows {
            let photos: Vec<String> = match photos {
                Some(p) => serde_json::from_str(&p).unwrap_or_default(),
                None => self.record_photo_hashes(&chain_kind, &record_id)?,
            };
            let (mut total, mut done) = (0u64, 0u64);
            let mut photos_done = 0u64;
            for p in &photos {
                if let Some((st, bytes, offset)) = photo_state.get(p) {
                    total += bytes;
                    if st == "complete" {
                        done += bytes;
                        photos_done += 1;
                    } else {
                        done += (*offset).min(*bytes);
                    }
                }
            }
            out.push(SyncRecordView {
                id: record_id.clone(),
                kind: wire_kind(&chain_kind).map_or("evidence", RecordKind::as_str),
                label: self.record_label(&chain_kind, &record_id)?,
                chain_kind,
                seq: seq.max(0) as u64,
                state: RecordState::parse(&state)?,
                error: code.map(|code| CodedError {
                    code,
                    message: message.unwrap_or_default(),
                }),
                photos_total: photos.len() as u64,
                photos_done,
                bytes_total: total,
                bytes_done: done,
                updated_at,
            });
        }
        Ok(out)
    }

    /// The outbox state of one record (by record id), if it is in the outbox.
    pub fn record_sync_state(&self, record_id: &str) -> Result<Option<RecordState>, StoreError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT s.state FROM sync_record s JOIN evidence_chain c ON c.seq = s.chain_seq \
                 WHERE c.record_id = ?1 ORDER BY s.chain_seq DESC LIMIT 1",
                [record_id],
                |r| r.get(0),
            )
            .optional()?;
        s.as_deref().map(RecordState::parse).transpose()
    }

    fn record_photo_hashes(&self, chain_kind: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let sql = match chain_kind {
            "photo" => "SELECT derived_sha256 FROM photo WHERE id = ?1",
            "signature" => "SELECT png_sha256 FROM signature WHERE id = ?1",
            "inspection" => {
                "SELECT DISTINCT sha256 FROM inspection_photo WHERE inspection_id = ?1 ORDER BY sha256"
            }
            _ => return Ok(Vec::new()),
        };
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_label(&self, chain_kind: &str, id: &str) -> Result<String, StoreError> {
        let sql = match chain_kind {
            "inspection" => {
                "SELECT coalesce(t.title_zh || ' · ', '') || coalesce(e.name, '') FROM inspection i \
                 LEFT JOIN checklist_template t ON t.id = i.template_id AND t.version = i.template_version \
                 LEFT JOIN enterprise e ON e.id = i.enterprise_id WHERE i.id = ?1"
            }
            "photo" => {
                "SELECT coalesce(e.name, '') FROM photo p LEFT JOIN enterprise e ON e.id = p.enterprise_id \
                 WHERE p.id = ?1"
            }
            "signature" => {
                "SELECT coalesce(e.name, '') || ' · ' || s.signer FROM signature s \
                 JOIN inspection i ON i.id = s.inspection_id \
                 LEFT JOIN enterprise e ON e.id = i.enterprise_id WHERE s.id = ?1"
            }
            "hazard_event" => {
                "SELECT coalesce(e.name, '') FROM hazard_event ev JOIN hazard h ON h.id = ev.hazard_id \
                 LEFT JOIN enterprise e ON e.id = h.enterprise_id WHERE ev.id = ?1"
            }
            "lease" => {
                "SELECT '租赁 · ' || coalesce(ll.name, '') || ' → ' || coalesce(t.name, '') \
                 FROM lease_record r LEFT JOIN enterprise ll ON ll.id = r.landlord_id \
                 LEFT JOIN enterprise t ON t.id = r.tenant_id WHERE r.id = ?1"
            }
            "suspected_confirmation" => {
                "SELECT '疑似单位核实 · ' || coalesce(e.name, s.address, '') FROM suspected_record r \
                 LEFT JOIN suspected_enterprise s ON s.id = r.suspected_id \
                 LEFT JOIN enterprise e ON e.id = r.enterprise_id WHERE r.id = ?1"
            }
            _ => return Ok(String::new()),
        };
        Ok(self
            .conn
            .query_row(sql, [id], |r| r.get::<_, String>(0))
            .optional()?
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::relocate;

    fn outbox(rows: &[(i64, i64, &str)]) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE sync_record (chain_seq INTEGER PRIMARY KEY, state TEXT NOT NULL, \
             wire_seq INTEGER UNIQUE, fork INTEGER NOT NULL DEFAULT 0, error_code TEXT, \
             error_message TEXT, updated_at TEXT NOT NULL)",
        )
        .expect("schema");
        for (chain, wire, state) in rows {
            conn.execute(
                "INSERT INTO sync_record (chain_seq, wire_seq, state, updated_at) VALUES (?1, ?2, ?3, 't0')",
                rusqlite::params![chain, wire, state],
            )
            .expect("row");
        }
        conn
    }

    fn positions(conn: &rusqlite::Connection) -> Vec<(i64, i64, String)> {
        let mut stmt = conn
            .prepare("SELECT chain_seq, wire_seq, state FROM sync_record ORDER BY chain_seq")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn a_receipt_naming_a_position_twice_or_not_yet_taken_is_refused() {
        use super::check_moves;
        assert!(check_moves(&[(1, 3), (2, 4)], 8).is_ok());
        assert!(check_moves(&[], 1).is_ok());
        assert!(check_moves(&[(1, 3), (2, 3)], 8)
            .expect_err("twice")
            .contains("two records"));
        assert!(check_moves(&[(1, 8)], 8)
            .expect_err("not taken")
            .contains("next position"));
        assert!(check_moves(&[(1, u64::MAX)], 8).is_err());
    }

    #[test]
    fn records_take_the_positions_the_server_holds_them_at() {
        let mut conn = outbox(&[(0, 1, "complete"), (1, 2, "complete"), (2, 3, "complete")]);
        let tx = conn.transaction().expect("tx");
        // Shifted by two: each target but the last is another moved record's position.
        assert_eq!(
            relocate(&tx, &[(1, 3), (2, 4), (3, 5)], "t1").expect("relocate"),
            0
        );
        tx.commit().expect("commit");
        assert_eq!(
            positions(&conn),
            vec![
                (0, 3, "complete".into()),
                (1, 4, "complete".into()),
                (2, 5, "complete".into())
            ]
        );
    }

    #[test]
    fn a_record_at_a_position_the_server_holds_another_at_is_queued_again_past_every_position() {
        let mut conn = outbox(&[(0, 1, "complete"), (1, 2, "queued"), (2, 7, "complete")]);
        let tx = conn.transaction().expect("tx");
        assert_eq!(relocate(&tx, &[(1, 2)], "t1").expect("relocate"), 1);
        tx.commit().expect("commit");
        assert_eq!(
            positions(&conn),
            vec![
                (0, 2, "complete".into()),
                (1, 8, "queued".into()),
                (2, 7, "complete".into())
            ]
        );
        let conn2 = outbox(&[(0, 1, "complete")]);
        let tx =
            rusqlite::Transaction::new_unchecked(&conn2, rusqlite::TransactionBehavior::Deferred)
                .expect("tx");
        assert_eq!(relocate(&tx, &[], "t1").expect("nothing"), 0);
        assert_eq!(relocate(&tx, &[(9, 10)], "t1").expect("unknown"), 0);
    }
}
