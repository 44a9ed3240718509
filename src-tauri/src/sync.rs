//! Sync in the app: the Sync screen's view, and a background worker that syncs when
//! something was finalized, periodically, and with growing pauses after failures (the
//! retries inside a run are the device crate's; see `docs/sync-client.md`).

use crate::error::IpcError;
use crate::state::AppState;
use gridwalk_device::sync::outbox::{CodedError, PhotoCounts};
use gridwalk_device::sync::{Network, SyncOptions, SyncRecordView, Syncer};
use serde::Serialize;
use std::time::Duration;
use tauri::Manager;

/// `SyncStatus` of docs/ipc.md.
#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    /// False when the last run failed for lack of network.
    pub online: bool,
    pub network: Network,
    pub running: bool,
    pub last_success_at: Option<String>,
    pub last_error: Option<CodedError>,
    /// Records not yet complete, then the latest complete ones.
    pub records: Vec<SyncRecordView>,
    pub photos: PhotoCounts,
    pub pending: u64,
    pub clock_skew_seconds: Option<i64>,
    /// Other devices' hazard events not applied here yet (`gridwalk status`).
    pub hazard_events_waiting: u64,
    /// Records and photos refused by the server or held back here, with the reason and
    /// what to do; while any is listed the last run ends with `sync.needs_attention`.
    pub attention: Vec<gridwalk_device::sync::AttentionItem>,
}

/// How many completed records the Sync screen lists.
const RECENT_COMPLETE: usize = 30;

/// The network as the app knows it. Desktop builds cannot tell Wi-Fi from cellular.
fn network() -> Network {
    std::env::var("GRIDWALK_NETWORK")
        .ok()
        .and_then(|n| Network::parse(&n))
        .unwrap_or_default()
}

/// A syncer over the app's database.
pub fn syncer(state: &AppState) -> Syncer {
    Syncer::new(
        state.db_path(),
        SyncOptions {
            timeout: Duration::from_secs(20),
            attempts: 2,
            backoff: Duration::from_millis(500),
            network: network(),
            ..SyncOptions::default()
        },
    )
}

/// The Sync screen's data.
pub fn view(state: &AppState) -> Result<SyncView, IpcError> {
    let store = state.store()?;
    let status = store.sync_status()?;
    let records = store.sync_records(RECENT_COMPLETE)?;
    let last_error = status.last_error.map(|e| CodedError {
        code: e.code,
        message: e.message,
    });
    Ok(SyncView {
        online: !last_error
            .as_ref()
            .is_some_and(|e| e.code.starts_with("network.")),
        network: network(),
        running: state.sync_running(),
        last_success_at: status.last_success_at,
        last_error,
        records,
        photos: status.photos,
        pending: status.pending,
        clock_skew_seconds: status.clock_skew_seconds,
        attention: status.attention,
        hazard_events_waiting: status.hazard_events_waiting,
    })
}

/// Starts the background worker: it syncs when kicked (a finalize, an enrollment) or
/// every `GRIDWALK_SYNC_INTERVAL_SECS` (default 60 s); after a failed run it waits
/// longer each time (up to 10 minutes) unless kicked.
pub fn start_worker(app: tauri::AppHandle) {
    let interval = std::env::var("GRIDWALK_SYNC_INTERVAL_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60)
        .max(1);
    let spawned = std::thread::Builder::new()
        .name("gridwalk-sync".into())
        .spawn(move || {
            let mut failures = 0u32;
            loop {
                let pause = if failures == 0 {
                    Duration::from_secs(interval)
                } else {
                    gridwalk_device::sync::engine::backoff_delay(
                        Duration::from_secs(15),
                        Duration::from_secs(600),
                        failures - 1,
                    )
                };
                let state = app.state::<AppState>();
                let kicked = state.wait_for_kick(pause);
                let pending = match state.store().and_then(|s| {
                    let status = s.sync_status()?;
                    Ok(status.enrolled && status.pending > 0)
                }) {
                    Ok(p) => p,
                    Err(_) => continue,
                };
                if !(pending || kicked) || !state.begin_sync() {
                    continue;
                }
                // A panic in a run must not leave `running` set for good.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    syncer(&state).run_once()
                }))
                .unwrap_or_else(|_| {
                    Err(gridwalk_device::sync::SyncError::Interrupted(
                        "the sync run panicked".into(),
                    ))
                });
                state.end_sync();
                failures = match result {
                    Ok(r) if r.done || r.error.is_none() => 0,
                    _ => failures.saturating_add(1).min(10),
                };
            }
        });
    if let Err(e) = spawned {
        eprintln!("GridWalk: the background sync could not start: {e}");
    }
}
