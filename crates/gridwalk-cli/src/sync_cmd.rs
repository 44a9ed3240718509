//! `gridwalk enroll`, `sync`, `status` and `config`: thin over `gridwalk_device::sync`.

use crate::{output, Cli};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use gridwalk_device::app_settings::Settings;
use gridwalk_device::sync::{Network, ServerTrust, SyncError, SyncOptions, SyncReport, Syncer};
use gridwalk_device::Store;
use std::process::ExitCode;
use std::time::Duration;

/// Exit code when a sync run ended with work left (network down, photos waiting).
pub const EXIT_WORK_REMAINS: u8 = 4;
/// Exit code when nothing is left to send but records or photos of this phone are refused
/// or held back (`gridwalk status` lists each with its reason), or `--verify` found the
/// server lacking something.
pub const EXIT_NEEDS_ATTENTION: u8 = 3;

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Server address (`https://host[:port]`; plain `http://` only to 127.0.0.1, ::1 or
    /// localhost, unless --allow-insecure-http).
    #[arg(long)]
    pub server: String,
    /// Allows plain `http://` to a server that is not this machine (the token and the
    /// evidence then cross the network unencrypted: a closed test network only). Kept
    /// with the enrollment. `GRIDWALK_ALLOW_HTTP=1` does the same for development.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// A PEM file of CA certificates to trust besides the built-in roots (a server with
    /// a self-signed or private-CA certificate). Kept with the enrollment.
    #[arg(long)]
    pub ca_cert: Option<std::path::PathBuf>,
    /// One-time enrollment code from an administrator or officer.
    #[arg(long)]
    pub code: String,
    /// A name for this device on the server's device list.
    #[arg(long)]
    pub device_name: Option<String>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    /// Confirms moving to another server while records or photos still wait for the
    /// current one (they are then sent to the new server).
    #[arg(long)]
    pub switch_server: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// One run (retrying transient failures up to --attempts), then exit: 0 when
    /// everything is on the server, 4 when work remains, 3 when records or photos are
    /// refused or held back (see `gridwalk status`).
    #[arg(long)]
    pub once: bool,
    /// Sends nothing: proves, by hash, that the server holds every record this phone
    /// finalized and every photo they reference. Exit 0 if so, 3 if not (each missing
    /// record listed).
    #[arg(long)]
    pub verify: bool,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
    /// tus chunk size in KiB (a cut re-sends at most one chunk).
    #[arg(long, default_value_t = 256)]
    pub chunk_kib: usize,
    /// Passes per run before giving up on transient failures.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// First backoff in milliseconds (doubled per failure, ±50 % jitter, capped at 60 s).
    #[arg(long, default_value_t = 1000)]
    pub backoff_ms: u64,
    /// Records per push.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// The network the device is on: wifi, cellular, none, unknown (photos wait for
    /// Wi-Fi on cellular when photos_wifi_only is set).
    #[arg(long, default_value = "unknown", env = "GRIDWALK_NETWORK")]
    pub network: String,
    /// Without --once: seconds between runs.
    #[arg(long, default_value_t = 60)]
    pub interval_secs: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Prints a setting: server, photos_wifi_only.
    Get { key: String },
    /// Changes a setting: `server URL` (the same server at a new address),
    /// `photos_wifi_only true|false`.
    Set { key: String, value: String },
}

fn print_report(cli: &Cli, r: &SyncReport) -> Result<()> {
    if cli.json {
        return output::json(r);
    }
    println!(
        "sync: {} accepted, {} already held, {} rejected; {} photos uploaded ({} bytes); \
         register: {} divisions, {} enterprises, {} templates",
        r.accepted,
        r.duplicates,
        r.rejected,
        r.photos_uploaded,
        r.photo_bytes_sent,
        r.pulled.divisions,
        r.pulled.enterprises,
        r.pulled.templates
    );
    if r.pulled.assignments + r.pulled.reviews > 0 {
        println!(
            "officers' work: {} assignments, {} reviews",
            r.pulled.assignments, r.pulled.reviews
        );
    }
    if r.photos_waiting_for_wifi > 0 {
        println!("{} photos wait for Wi-Fi", r.photos_waiting_for_wifi);
    }
    if r.reconciled > 0 {
        println!(
            "{} records sent again: the server did not hold them as this phone believed",
            r.reconciled
        );
    }
    if r.forked > 0 {
        println!(
            "{} records renumbered in a fork: this phone's database went back in time; the server keeps both branches",
            r.forked
        );
    }
    if let Some(e) = &r.error {
        println!("stopped: {} ({})", e.message, e.code);
    }
    println!(
        "{}",
        match (r.done, r.needs_attention) {
            (true, 0) => "everything is on the server".to_string(),
            (true, n) => format!(
                "nothing left to send, but {n} records or photos are refused or held back: see gridwalk status"
            ),
            _ => "work remains".to_string(),
        }
    );
    Ok(())
}

/// The exit code of a finished run.
fn exit_of(r: &SyncReport) -> ExitCode {
    match (r.done, r.needs_attention) {
        (true, 0) => ExitCode::SUCCESS,
        (true, _) => ExitCode::from(EXIT_NEEDS_ATTENTION),
        _ => ExitCode::from(EXIT_WORK_REMAINS),
    }
}

fn verify(cli: &Cli, syncer: &Syncer) -> Result<ExitCode> {
    let v = syncer.verify()?;
    if cli.json {
        output::json(&v)?;
    } else {
        println!(
            "verify: the server holds {} of the {} records this phone finalized (next position {}); {} photos missing",
            v.records_held,
            v.records,
            v.server_next_seq,
            v.photos_missing.len()
        );
        for n in &v.not_held {
            println!(
                "  not held: seq {} record {} ({}{})",
                n.seq,
                n.id,
                n.state,
                n.code
                    .as_deref()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default()
            );
        }
        for p in &v.photos_missing {
            println!("  photo missing: {p}");
        }
        println!(
            "{}",
            if v.verified {
                "verified: everything this phone finalized is on the server"
            } else {
                "NOT verified"
            }
        );
    }
    Ok(if v.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEEDS_ATTENTION)
    })
}

pub fn enroll(cli: &Cli, a: &EnrollArgs) -> Result<ExitCode> {
    let opts = SyncOptions {
        timeout: Duration::from_secs(a.timeout_secs.max(1)),
        ..SyncOptions::default()
    };
    let ca_cert_pem = match &a.ca_cert {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("--ca-cert {}", path.display()))?,
        ),
        None => None,
    };
    let trust = ServerTrust {
        allow_insecure_http: a.allow_insecure_http,
        ca_cert_pem,
    };
    let e = Syncer::new(&cli.db, opts).enroll_trusting(
        &a.server,
        &a.code,
        a.device_name.as_deref(),
        a.switch_server,
        trust,
    )?;
    if cli.json {
        output::json(&serde_json::json!({
            "device_id": e.device_id,
            "server": e.server_url,
            "user": e.user,
        }))?;
    } else {
        println!(
            "enrolled as device {} on {} for {} ({}, {})",
            e.device_id,
            e.server_url,
            e.user.name,
            e.user.role.as_str(),
            e.user.jurisdiction
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn sync(cli: &Cli, a: &SyncArgs) -> Result<ExitCode> {
    let network = Network::parse(&a.network).with_context(|| {
        format!(
            "--network {:?}: use wifi, cellular, none or unknown",
            a.network
        )
    })?;
    let opts = SyncOptions {
        timeout: Duration::from_secs(a.timeout_secs.max(1)),
        chunk_bytes: a.chunk_kib.clamp(1, 8 * 1024) * 1024,
        attempts: a.attempts.max(1),
        backoff: Duration::from_millis(a.backoff_ms),
        batch_records: a.batch,
        network,
        ..SyncOptions::default()
    };
    let syncer = Syncer::new(&cli.db, opts);
    if a.verify {
        return verify(cli, &syncer);
    }
    if a.once {
        let r = syncer.run_once()?;
        print_report(cli, &r)?;
        return Ok(exit_of(&r));
    }
    loop {
        match syncer.run_once() {
            Ok(r) => print_report(cli, &r)?,
            Err(e @ SyncError::AlreadyRunning) => eprintln!("{e}"),
            Err(e) => return Err(e.into()),
        }
        std::thread::sleep(Duration::from_secs(a.interval_secs.max(1)));
    }
}

pub fn status(cli: &Cli) -> Result<ExitCode> {
    let store = Store::open(&cli.db)?;
    let s = store.sync_status()?;
    if cli.json {
        output::json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    match (&s.server, &s.user) {
        (Some(server), Some(u)) => {
            println!("enrolled on {server} as {} ({})", u.name, u.role.as_str())
        }
        _ => println!("not enrolled"),
    }
    let r = &s.records;
    println!(
        "records: {} queued, {} sending, {} failed, {} accepted, {} complete, {} rejected",
        r.queued, r.sending, r.failed, r.accepted, r.complete, r.rejected
    );
    let p = &s.photos;
    println!(
        "photos: {} queued, {} sending, {} failed, {} complete ({} of {} bytes on the server)",
        p.queued, p.sending, p.failed, p.complete, p.bytes_done, p.bytes_total
    );
    println!(
        "last success: {}",
        s.last_success_at.as_deref().unwrap_or("never")
    );
    if let Some(e) = &s.last_error {
        println!("last error: {} ({}) at {}", e.message, e.code, e.at);
    }
    if s.hazard_events_waiting > 0 {
        println!(
            "{} hazard events from other devices wait for earlier records",
            s.hazard_events_waiting
        );
    }
    for a in &s.attention {
        println!(
            "{} {} {}{} is {}: {} ({})\n  what to do: {}",
            a.item,
            a.kind,
            a.id,
            a.seq.map(|s| format!(" (seq {s})")).unwrap_or_default(),
            a.state,
            a.message,
            a.code,
            a.action
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => bail!("{key}: expected true or false, got {v:?}"),
    }
}

pub fn config(cli: &Cli, cmd: &ConfigCmd) -> Result<ExitCode> {
    let store = Store::open(&cli.db)?;
    let value = match cmd {
        ConfigCmd::Get { key } => match key.as_str() {
            "server" => serde_json::json!(store.enrollment()?.map(|e| e.server_url)),
            "photos_wifi_only" => serde_json::json!(store.settings()?.wifi_only_photos),
            other => bail!("unknown setting {other:?}: server, photos_wifi_only"),
        },
        ConfigCmd::Set { key, value } => match key.as_str() {
            "server" => serde_json::json!(store.set_server_url(value)?.server_url),
            "photos_wifi_only" => {
                let on = parse_bool(key, value)?;
                let s = store.set_settings(&Settings {
                    wifi_only_photos: on,
                    ..store.settings()?
                })?;
                serde_json::json!(s.wifi_only_photos)
            }
            other => bail!("unknown setting {other:?}: server, photos_wifi_only"),
        },
    };
    if cli.json {
        output::json(&value)?;
    } else {
        match &value {
            serde_json::Value::String(s) => println!("{s}"),
            serde_json::Value::Null => println!("(not set)"),
            v => println!("{v}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
