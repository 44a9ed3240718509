//! `gridwalk-server`: the central server and its admin commands, on one data directory
//! (SQLite) or a PostgreSQL database.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use gridwalk_core::DivisionCode;
use gridwalk_protocol::Role;
use gridwalk_server::audit::NewEntry;
use gridwalk_server::export::LedgerKind;
use gridwalk_server::register::{self, RegisterFile};
use gridwalk_server::serve::{self, ConnLimits};
use gridwalk_server::tus::UploadLimits;
use gridwalk_server::{open_store_with, DataDir};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod audit_cmd;
mod export_cmd;
mod officer_cmd;
mod print_cmd;
mod tips_cmd;

#[derive(Parser)]
#[command(name = "gridwalk-server", version, about = "GridWalk central server")]
struct Cli {
    /// Data directory: SQLite database, photos, partial uploads.
    #[arg(
        long,
        global = true,
        env = "GRIDWALK_DATA",
        default_value = "gridwalk-data"
    )]
    data: PathBuf,
    /// PostgreSQL instead of SQLite (`postgres://user@host:port/db`).
    #[arg(long, global = true, env = "GRIDWALK_DATABASE_URL")]
    database_url: Option<String>,
    /// Where photos and partial uploads are kept: `s3://bucket/prefix` (connection
    /// from the AWS_* variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ENDPOINT, AWS_ALLOW_HTTP) or `file:///path`; default DATA/blobs.
    #[arg(long, global = true, env = "GRIDWALK_BLOB_URL")]
    blob_url: Option<String>,
    /// PostgreSQL connections kept open at most (transactions that run at once); meant
    /// for `serve`. Ignored on SQLite.
    #[arg(long, global = true, env = "GRIDWALK_DB_POOL_SIZE",
          default_value_t = gridwalk_server::db::DEFAULT_POOL_SIZE as u64,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    db_pool_size: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (or HTTPS with --tls-cert and --tls-key) until SIGINT/SIGTERM.
    Serve {
        /// Address to listen on; port 0 picks a free port (the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        rate: RateArgs,
        #[command(flatten)]
        uploads: UploadArgs,
        /// Largest record payload accepted, in KiB (published to the phones, which keep
        /// to it where the user types; at most the protocol's 1024).
        #[arg(
            long,
            env = "GRIDWALK_MAX_PAYLOAD_KIB",
            default_value_t = (gridwalk_protocol::MAX_PAYLOAD_BYTES / 1024) as u64,
            value_parser = clap::value_parser!(u64).range(1..=1024)
        )]
        max_payload_kib: u64,
        /// The built officer console served at /console/ (default: `console/` beside
        /// this binary, else the source tree's console/dist).
        #[arg(long, env = "GRIDWALK_CONSOLE_DIR")]
        console_dir: Option<PathBuf>,
        /// XYZ tile URL for the console's map (`https://…/{z}/{x}/{y}.png`); none: the
        /// points draw on a plain background.
        #[arg(long, env = "GRIDWALK_MAP_TILE_URL")]
        map_tile_url: Option<String>,
        /// The datum the tiles are drawn in: gcj02 (AMap, Tencent) or wgs84 (OSM,
        /// Tianditu's CGCS2000).
        #[arg(long, env = "GRIDWALK_MAP_TILE_DATUM", default_value = "gcj02",
            value_parser = |s: &str| gridwalk_server::map_view::MapDatum::parse(s)
                .ok_or_else(|| format!("'{s}': use gcj02 or wgs84")))]
        map_tile_datum: gridwalk_server::map_view::MapDatum,
        /// The attribution the tile provider requires.
        #[arg(long, env = "GRIDWALK_MAP_TILE_ATTRIBUTION", default_value = "")]
        map_tile_attribution: String,
        #[command(flatten)]
        print: print_cmd::PrintArgs,
        /// Serve Prometheus metrics at /metrics to a scraper presenting this bearer
        /// token (at least 16 characters); without it /metrics answers 404.
        #[arg(long, env = "GRIDWALK_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// A consistent copy of the SQLite database, taken while the server runs (the
    /// photos in blobs/ are copied separately; PostgreSQL: pg_dump, docs/server.md).
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Jurisdiction tree.
    Divisions {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Enterprise register.
    Enterprises {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Users and devices.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Export stored data.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// The tables folded from the stored records (docs/campaign.md).
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Hazards (隐患) of a division.
    Hazards {
        #[command(subcommand)]
        command: HazardsCommand,
    },
    /// Campaigns as data (docs/campaign.md).
    Campaigns {
        #[command(subcommand)]
        command: CampaignsCommand,
    },
    /// Per duty of a campaign: enterprises done, not done and overdue in a division and
    /// each of its children; with --duty and --status, the enterprises behind a number.
    Coverage {
        /// Division code (district, town, village or grid).
        #[arg(long)]
        division: String,
        /// Campaign id (default: the one active today covering the division).
        #[arg(long)]
        campaign: Option<String>,
        /// List the enterprises of this duty…
        #[arg(long, requires = "status")]
        duty: Option<String>,
        /// …that are applicable, done, not_done or overdue.
        #[arg(long, requires = "duty")]
        status: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// 任务: assign enterprises (one or more, a division, or a sample) to a grid worker
    /// or expert with a template and a due date.
    Assign(officer_cmd::AssignArgs),
    /// Assignments: list, reassign, cancel.
    Assignments {
        #[command(subcommand)]
        command: officer_cmd::AssignmentsCommand,
    },
    /// 督导抽查: the reproducible supervision sample of a town for a seed.
    Sample(officer_cmd::SampleArgs),
    /// 举报核查: the tip-offs of a division (docs/tips.md).
    Tips {
        #[command(subcommand)]
        command: tips_cmd::TipsCommand,
    },
    /// Review a finalized inspection: approved, has_issues or rejected (with a comment).
    Review {
        #[arg(long)]
        inspection: String,
        #[arg(long)]
        state: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long = "as")]
        as_user: Option<String>,
    },
    /// Finalized inspections and their reviews.
    Inspections {
        #[command(subcommand)]
        command: officer_cmd::InspectionsCommand,
    },
    /// The append-only audit log: verify its hash chain (exit 1 when broken), list it.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
}

#[derive(Subcommand)]
enum CampaignsCommand {
    /// Import (or replace) a campaign file (JSON; the shipped 2024 Changzhou campaign is
    /// crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json).
    Import { file: PathBuf },
    /// The stored campaigns.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Next year's campaign: a copy of a stored one with every date moved by whole years.
    Copy {
        /// The campaign to copy.
        #[arg(long)]
        from: String,
        /// The year of the copy.
        #[arg(long)]
        year: i32,
        /// The copy's id (default: the original's with its year replaced).
        #[arg(long)]
        id: Option<String>,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// Empty the projections and fold every stored record again; says whether anything
    /// changed (a projection bug fixed) and prints the counts.
    Rebuild,
}

#[derive(Subcommand)]
enum HazardsCommand {
    /// The hazards of a division and its children, deadline first.
    List {
        /// Division code (district, town, village or grid).
        #[arg(long)]
        division: String,
        /// Only those still open after their deadline (today, China time).
        #[arg(long)]
        overdue: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One hazard: its state (with 五定) and every event, applied or kept and marked.
    Show {
        id: String,
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// An officer's (or expert's) action on a hazard; it reaches the phones.
    Act {
        /// The hazard.
        #[arg(long)]
        hazard: String,
        /// The user acting (an officer or expert; the role table applies).
        #[arg(long = "as")]
        as_user: String,
        #[command(subcommand)]
        action: officer_cmd::HazardAction,
    },
}

/// Connection limits of `serve` (docs/server.md, "Connection limits").
#[derive(clap::Args)]
struct LimitArgs {
    /// Seconds a client may take to send a request head, from its first byte.
    #[arg(
        long,
        env = "GRIDWALK_HEADER_TIMEOUT_SECS",
        default_value_t = ConnLimits::default().header_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_timeout_secs: u64,
    /// Longest silence, in seconds, while a request body is read (answered 408).
    #[arg(
        long,
        env = "GRIDWALK_BODY_TIMEOUT_SECS",
        default_value_t = ConnLimits::default().body_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    body_timeout_secs: u64,
    /// Seconds before a connection with no request in flight and no traffic is closed.
    #[arg(
        long,
        env = "GRIDWALK_IDLE_TIMEOUT_SECS",
        default_value_t = ConnLimits::default().idle_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    idle_timeout_secs: u64,
    /// Open connections at most; more wait until one closes.
    #[arg(
        long,
        env = "GRIDWALK_MAX_CONNECTIONS",
        default_value_t = ConnLimits::default().max_connections as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    max_connections: u64,
}

/// TLS of `serve` (docs/server.md, "TLS").
#[derive(clap::Args)]
struct TlsArgs {
    /// PEM certificate chain (leaf first); with --tls-key, serve HTTPS (HTTP/2 and
    /// HTTP/1.1 by ALPN) instead of plain HTTP.
    #[arg(long, env = "GRIDWALK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "GRIDWALK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Rate limits of `serve` (docs/server.md, "Rate limits"); 0 turns one off.
#[derive(clap::Args)]
struct RateArgs {
    /// Sign-in attempts a minute from one client address, and for one user name.
    #[arg(long, env = "GRIDWALK_LOGIN_PER_MINUTE", default_value_t = 10)]
    login_per_minute: u32,
    /// Enrollment attempts a minute from one client address.
    #[arg(long, env = "GRIDWALK_ENROLL_PER_MINUTE", default_value_t = 10)]
    enroll_per_minute: u32,
    /// Requests a second with one device token or console session, sustained.
    #[arg(long, env = "GRIDWALK_TOKEN_PER_SECOND", default_value_t = 50)]
    token_per_second: u32,
    /// Requests one token or session may send at once.
    #[arg(
        long,
        env = "GRIDWALK_TOKEN_BURST",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    token_burst: u32,
}

impl RateArgs {
    fn config(&self) -> gridwalk_server::ratelimit::RateLimitConfig {
        use std::num::NonZeroU32;
        gridwalk_server::ratelimit::RateLimitConfig {
            login_per_minute: NonZeroU32::new(self.login_per_minute),
            enroll_per_minute: NonZeroU32::new(self.enroll_per_minute),
            token_per_second: NonZeroU32::new(self.token_per_second),
            token_burst: NonZeroU32::new(self.token_burst).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Caps and expiry of unfinished photo uploads (docs/server.md, "Device trust").
#[derive(clap::Args)]
struct UploadArgs {
    /// Unfinished uploads one device may hold.
    #[arg(
        long,
        env = "GRIDWALK_MAX_OPEN_UPLOADS",
        default_value_t = UploadLimits::default().max_open_per_device,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    max_open_uploads: u64,
    /// MiB one device may have declared in its unfinished uploads.
    #[arg(
        long,
        env = "GRIDWALK_MAX_OPEN_UPLOAD_MIB",
        default_value_t = UploadLimits::default().max_open_bytes_per_device / (1024 * 1024),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    max_open_upload_mib: u64,
    /// Hours without a chunk after which an unfinished upload is deleted.
    #[arg(
        long,
        env = "GRIDWALK_UPLOAD_EXPIRY_HOURS",
        default_value_t = UploadLimits::default().expire_after.as_secs() / 3600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    upload_expiry_hours: u64,
}

impl UploadArgs {
    fn limits(&self) -> UploadLimits {
        UploadLimits {
            max_open_per_device: self.max_open_uploads,
            max_open_bytes_per_device: self.max_open_upload_mib.saturating_mul(1024 * 1024),
            expire_after: Duration::from_secs(self.upload_expiry_hours.saturating_mul(3600)),
            ..UploadLimits::default()
        }
    }
}

impl LimitArgs {
    fn limits(&self) -> ConnLimits {
        ConnLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import a CSV or XLSX file (docs/register-import.md).
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user.
    CreateUser {
        #[arg(long)]
        name: String,
        /// grid_worker | expert | officer | admin
        #[arg(long)]
        role: String,
        /// Division code of the jurisdiction.
        #[arg(long)]
        jurisdiction: String,
        /// Read the password from the first line of standard input (required for
        /// officers and admins, who sign in to the console; stored with argon2id).
        #[arg(long)]
        password_stdin: bool,
    },
    /// End every console session of a user (an officer who left, a lost laptop).
    RevokeSessions {
        #[arg(long)]
        name: String,
    },
    /// Disable a user at once: no sign-in, every console session ends, and their
    /// devices' tokens are refused (account_disabled) until enable-user.
    DisableUser {
        /// The user's name.
        name: String,
    },
    /// Let a disabled user sign in and their (not revoked) devices sync again.
    EnableUser {
        /// The user's name.
        name: String,
    },
    /// Set a new password for an officer or admin (first line of standard input); their
    /// open sessions end.
    SetPassword {
        #[arg(long)]
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Issue a one-time enrollment code (printed as the last line).
    EnrollmentCode {
        #[arg(long)]
        user: String,
        /// Server address to put in the QR payload.
        #[arg(long)]
        server_url: Option<String>,
    },
    /// Revoke a device's token.
    RevokeDevice { device_id: String },
    /// List enrolled devices.
    Devices,
    /// Give the database a new epoch after restoring it from a backup: every device's
    /// register pull restarts from the beginning (docs/server.md "Backup and restore").
    NewEpoch,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Every stored inspection with its photos and state (JSON); with --division
    /// --format xlsx --out FILE, the 检查记录台账 (docs/exports.md).
    Inspections {
        /// JSON output (the dump of every stored inspection).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
        /// Ledger: approved, has_issues, rejected or unreviewed only.
        #[arg(long)]
        review: Option<String>,
    },
    /// 隐患排查治理台账: the hazards of a division with their 五定.
    Hazards {
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
        /// Only those still open after their deadline.
        #[arg(long)]
        overdue: bool,
    },
    /// 粉尘涉爆企业底数台账: the register with the facts visits confirmed.
    Enterprises {
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
        /// Only dust-involved enterprises.
        #[arg(long)]
        dust_involved: bool,
    },
    /// 举报核查台账: the tip-offs of a division with their verification (never the
    /// reporter).
    Tips {
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
        /// Only those not verified after their deadline.
        #[arg(long)]
        overdue: bool,
    },
    /// 厂中厂台账: per site, the landlord and each tenant with its lease, pre-lease check
    /// (适租状态) and open hazards (docs/exports.md).
    Leases {
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
    },
    /// 专项行动进度表: per duty of the campaign (`--campaign`, else the one the coverage
    /// view shows), done / not done / overdue in the division and each child.
    Coverage {
        #[command(flatten)]
        ledger: export_cmd::LedgerArgs,
    },
    /// 检查记录: one inspection as a printable PDF with a QR code that verifies it.
    Record(print_cmd::RecordArgs),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let data = DataDir::create(&cli.data)
        .with_context(|| format!("data directory {}", cli.data.display()))?;
    let store = open_store_with(
        &data,
        cli.database_url.as_deref(),
        cli.db_pool_size as usize,
    )
    .context("opening the database")?;
    let on_postgres = cli.database_url.is_some();
    let blob_url = gridwalk_server::blobs::BlobUrl::parse(cli.blob_url.as_deref(), &data)?;
    let blobs = gridwalk_server::blobs::open(&blob_url, std::env::vars())
        .context("opening the blob store (--blob-url)")?;
    match cli.command {
        Command::Serve {
            listen,
            tls,
            limits,
            rate,
            uploads,
            max_payload_kib,
            console_dir,
            map_tile_url,
            map_tile_datum,
            map_tile_attribution,
            print,
            metrics_token,
        } => serve(
            data,
            (blobs, blob_url.local_dir()),
            store.with_max_payload_bytes(max_payload_kib * 1024),
            listen,
            match (tls.tls_cert, tls.tls_key) {
                (Some(cert), Some(key)) => Some(
                    serve::Tls::from_pem_files(&cert, &key)
                        .context("--tls-cert/--tls-key cannot be used")?,
                ),
                _ => None,
            },
            limits.limits(),
            rate.config(),
            uploads.limits(),
            console_dir.or_else(gridwalk_server::console::default_dir),
            match map_tile_url {
                // The console's CSP loads images from this server and https: only.
                Some(url) if !url.starts_with("https://") => {
                    anyhow::bail!("--map-tile-url must be an https:// URL, not {url}")
                }
                Some(url) => Some(gridwalk_server::map_view::MapTiles {
                    url,
                    datum: map_tile_datum,
                    attribution: map_tile_attribution,
                }),
                None => None,
            },
            print.config(),
            match metrics_token {
                Some(t) if t.trim().chars().count() < 16 => {
                    anyhow::bail!("--metrics-token must be at least 16 characters")
                }
                t => gridwalk_server::metrics::Metrics::new(t.as_deref().map(str::trim)),
            },
        ),
        Command::Backup { out, json } => {
            if on_postgres {
                return Err(gridwalk_server::backup::BackupError::Postgres.into());
            }
            let r = gridwalk_server::backup::backup_sqlite(&data.database(), &out)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "backup {}: {} bytes, schema {}, {} records, {} photos referenced \
                     (copy blobs/ beside it), {} ms",
                    r.out.display(),
                    r.bytes,
                    r.schema_version,
                    r.records,
                    r.photos,
                    r.millis
                );
            }
            Ok(())
        }
        Command::Divisions {
            command: ImportCommand::Import { file },
        } => import(&store, RegisterFile::Divisions, &file),
        Command::Enterprises {
            command: ImportCommand::Import { file },
        } => import(&store, RegisterFile::Enterprises, &file),
        Command::Admin { command } => admin(&store, command),
        Command::Export {
            command: ExportCommand::Inspections { ledger, review, .. },
        } if ledger.wants_ledger() => export_cmd::run(
            &store,
            LedgerKind::Inspections,
            ledger,
            export_cmd::Filters {
                review,
                ..Default::default()
            },
        ),
        Command::Export {
            command: ExportCommand::Record(args),
        } => print_cmd::run(&data, store, blobs, args),
        Command::Export {
            command: ExportCommand::Hazards { ledger, overdue },
        } => export_cmd::run(
            &store,
            LedgerKind::Hazards,
            ledger,
            export_cmd::Filters {
                overdue,
                ..Default::default()
            },
        ),
        Command::Export {
            command:
                ExportCommand::Enterprises {
                    ledger,
                    dust_involved,
                },
        } => export_cmd::run(
            &store,
            LedgerKind::Enterprises,
            ledger,
            export_cmd::Filters {
                dust_involved,
                ..Default::default()
            },
        ),
        Command::Export {
            command: ExportCommand::Tips { ledger, overdue },
        } => export_cmd::run(
            &store,
            LedgerKind::Tips,
            ledger,
            export_cmd::Filters {
                overdue,
                ..Default::default()
            },
        ),
        Command::Export {
            command: ExportCommand::Leases { ledger },
        } => export_cmd::run(&store, LedgerKind::Leases, ledger, Default::default()),
        Command::Export {
            command: ExportCommand::Coverage { ledger },
        } => export_cmd::run(&store, LedgerKind::Coverage, ledger, Default::default()),
        Command::Export {
            command: ExportCommand::Inspections { .. },
        } => {
            let all = store.export_inspections()?;
            audit(
                &store,
                NewEntry::cli("export.inspections_json")
                    .detail(serde_json::json!({ "records": all.len() })),
            )?;
            println!("{}", serde_json::to_string_pretty(&all)?);
            Ok(())
        }
        Command::Campaigns { command } => campaigns(&store, command),
        Command::Coverage {
            division,
            campaign,
            duty,
            status,
            json,
        } => coverage(
            &store,
            &division,
            campaign.as_deref(),
            duty.zip(status),
            json,
        ),
        Command::Projections {
            command: ProjectionsCommand::Rebuild,
        } => {
            let (report, changed) = store.rebuild_projections()?;
            audit(
                &store,
                NewEntry::cli("projections.rebuild")
                    .detail(serde_json::json!({ "changed": changed })),
            )?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "report": report,
                    "changed": changed,
                }))?
            );
            Ok(())
        }
        Command::Hazards {
            command:
                HazardsCommand::List {
                    division,
                    overdue,
                    json,
                },
        } => {
            let division = DivisionCode::parse(&division)?;
            let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
            let list = store.hazard_list(&division, overdue.then_some(today))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for h in &list {
                    println!(
                        "{} {} {} {} deadline {}{}{} {}",
                        h.id,
                        h.severity,
                        h.status,
                        h.enterprise_name.as_deref().unwrap_or(&h.enterprise_uscc),
                        h.deadline,
                        if h.overdue { " OVERDUE" } else { "" },
                        if h.listed { " 挂牌督办" } else { "" },
                        h.assignee.as_deref().unwrap_or("")
                    );
                }
                println!("{} hazards", list.len());
            }
            Ok(())
        }
        Command::Hazards {
            command: HazardsCommand::Show { id, as_user, json },
        } => officer_cmd::hazard_show(&store, &id, as_user.as_deref(), json),
        Command::Hazards {
            command:
                HazardsCommand::Act {
                    hazard,
                    as_user,
                    action,
                },
        } => officer_cmd::hazard_act(&store, &hazard, &as_user, action),
        Command::Assign(a) => officer_cmd::assign(&store, a),
        Command::Assignments { command } => officer_cmd::assignments(&store, command),
        Command::Tips { command } => tips_cmd::run(&store, command),
        Command::Sample(a) => officer_cmd::sample(&store, a),
        Command::Review {
            inspection,
            state,
            comment,
            as_user,
        } => officer_cmd::review(&store, &inspection, &state, comment, as_user.as_deref()),
        Command::Inspections { command } => officer_cmd::inspections(&store, command),
        Command::Audit { command } => {
            if !audit_cmd::run(&store, command)? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// The jurisdiction of a user, under which an admin command's entry about them is filed.
fn jurisdiction_of(store: &gridwalk_server::Store, user: &str) -> Option<DivisionCode> {
    store.actor(user).ok().and_then(|a| a.scope)
}

/// Logs an admin command's change right after it was made, for the commands whose
/// change is not one transaction of the store that could carry the entry
/// (docs/security.md "Audit log"): actor `cli:<os user>`, source `cli`.
fn audit(store: &gridwalk_server::Store, entry: NewEntry) -> Result<()> {
    store.audit_append(&entry).with_context(|| {
        format!(
            "the change was made, but its audit entry ({}) could not be stored",
            entry.action
        )
    })?;
    Ok(())
}

fn campaigns(store: &gridwalk_server::Store, command: CampaignsCommand) -> Result<()> {
    match command {
        CampaignsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let c = gridwalk_core::Campaign::from_json(&text)?;
            store.import_campaign_logged(
                &c,
                Some(
                    &NewEntry::cli("campaign.import")
                        .target("campaign", &c.id)
                        .in_division(Some(&c.area_code))
                        .detail(serde_json::json!({
                            "file": file.display().to_string(),
                            "name_zh": c.name_zh,
                            "area_code": c.area_code.as_str(),
                            "starts_on": c.starts_on,
                            "ends_on": c.ends_on,
                            "duties": c.duties.len(),
                        })),
                ),
            )?;
            println!(
                "campaign {} ({}): {} duties, {} to {}",
                c.id,
                c.name_zh,
                c.duties.len(),
                c.starts_on,
                c.ends_on
            );
        }
        CampaignsCommand::List { json } => {
            let all = store.campaigns()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for c in &all {
                    println!(
                        "{} {} {} {}..{} ({} duties)",
                        c.id,
                        c.name_zh,
                        c.area_code.as_str(),
                        c.starts_on,
                        c.ends_on,
                        c.duties.len()
                    );
                }
            }
        }
        CampaignsCommand::Copy { from, year, id } => {
            let Some(original) = store.campaign(&from)? else {
                bail!("no campaign {from}");
            };
            let id =
                id.unwrap_or_else(|| from.replace(&original.year.to_string(), &year.to_string()));
            if id == from {
                bail!("the copy needs its own id: pass --id");
            }
            let copy = original.shifted_to_year(year, &id)?;
            store.import_campaign_logged(
                &copy,
                Some(
                    &NewEntry::cli("campaign.import")
                        .target("campaign", &copy.id)
                        .in_division(Some(&copy.area_code))
                        .detail(serde_json::json!({
                            "copied_from": from,
                            "year": year,
                            "starts_on": copy.starts_on,
                            "ends_on": copy.ends_on,
                        })),
                ),
            )?;
            println!(
                "campaign {} ({}): {} to {}",
                copy.id, copy.name_zh, copy.starts_on, copy.ends_on
            );
        }
    }
    Ok(())
}

fn coverage(
    store: &gridwalk_server::Store,
    division: &str,
    campaign: Option<&str>,
    list: Option<(String, String)>,
    json: bool,
) -> Result<()> {
    let division = DivisionCode::parse(division)?;
    let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
    let c = match campaign {
        Some(id) => store
            .campaign(id)?
            .with_context(|| format!("no campaign {id}"))?,
        None => store
            .default_campaign(&division, today)?
            .with_context(|| format!("no campaign covers {}", division.as_str()))?,
    };
    if let Some((duty, status)) = list {
        let Some(status) = gridwalk_server::coverage::CoverageStatus::parse(&status) else {
            bail!("--status {status}: use applicable, done, not_done or overdue");
        };
        let rows = store.coverage_enterprises(&c, &duty, &division, status, today, 10_000)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            for r in &rows {
                println!(
                    "{} {} {}",
                    r.uscc,
                    r.name.as_deref().unwrap_or(""),
                    r.village_code
                );
            }
            println!("{} enterprises", rows.len());
        }
        return Ok(());
    }
    let cov = store.coverage(&c, &division, today)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&cov)?);
    } else {
        println!(
            "{} in {} on {}",
            cov.campaign_name_zh, cov.division, cov.today
        );
        for d in &cov.duties {
            println!(
                "{}. {} (deadline {}): {} applicable, {} done, {} not done, {} overdue",
                d.no,
                d.title_zh,
                d.deadline.as_deref().unwrap_or("none"),
                d.counts.applicable,
                d.counts.done,
                d.counts.not_done,
                d.counts.overdue
            );
        }
    }
    Ok(())
}

fn import(
    store: &gridwalk_server::Store,
    kind: RegisterFile,
    file: &std::path::Path,
) -> Result<()> {
    let report = register::import(store, kind, file)
        .with_context(|| format!("importing {}", file.display()))?;
    audit(
        store,
        NewEntry::cli("register.import").detail(serde_json::json!({
            "kind": match kind {
                RegisterFile::Divisions => "divisions",
                RegisterFile::Enterprises => "enterprises",
            },
            "file": file.display().to_string(),
            "rows": report.report.rows,
            "inserted": report.report.inserted,
            "updated": report.report.updated,
            "unchanged": report.report.unchanged,
            "rejected": report.report.rejected.len(),
            "published": report.published,
        })),
    )?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.report.rejected.is_empty() {
        eprintln!("{} rows rejected", report.report.rejected.len());
        std::process::exit(3);
    }
    Ok(())
}

fn admin(store: &gridwalk_server::Store, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateUser {
            name,
            role,
            jurisdiction,
            password_stdin,
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("unknown role '{role}' (grid_worker, expert, officer, admin)");
            };
            let signs_in = matches!(role, Role::Officer | Role::Admin);
            if signs_in && !password_stdin {
                bail!(
                    "an {} signs in to the console: give a password with --password-stdin",
                    role.as_str()
                );
            }
            if !signs_in && password_stdin {
                bail!(
                    "a {} uses an enrolled device, not a password",
                    role.as_str()
                );
            }
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            if let Some(p) = &password {
                // Refuse a bad password before the user exists.
                gridwalk_server::password::hash(p)?;
            }
            let code = DivisionCode::parse(&jurisdiction)?;
            let entry = NewEntry::cli("user.create")
                .target("user", name.trim())
                .in_division(Some(&code))
                .detail(serde_json::json!({
                    "role": role.as_str(),
                    "jurisdiction": code.as_str(),
                }));
            let id = store.create_user_logged(&name, role, &code, Some(&entry))?;
            if let Some(p) = &password {
                store.set_password(&name, p)?;
                // Never the password.
                audit(
                    store,
                    NewEntry::cli("user.password")
                        .target("user", name.trim())
                        .in_division(Some(&code)),
                )?;
            }
            println!("created user {name} ({}) for {code}: {id}", role.as_str());
        }
        AdminCommand::RevokeSessions { name } => {
            let n = store.revoke_sessions(&name)?;
            audit(
                store,
                NewEntry::cli("sessions.revoke")
                    .target("user", &name)
                    .in_division(jurisdiction_of(store, &name).as_ref())
                    .detail(serde_json::json!({ "ended": n })),
            )?;
            println!("{n} sessions of {name} ended");
        }
        AdminCommand::DisableUser { name } => {
            let Some(done) = store.disable_user(&name)? else {
                bail!("no user named '{name}'");
            };
            audit(
                store,
                NewEntry::cli("user.disable")
                    .target("user", &name)
                    .in_division(jurisdiction_of(store, &name).as_ref())
                    .detail(serde_json::json!({
                        "sessions_ended": done.sessions_ended,
                        "devices_refused": done.devices_refused,
                    })),
            )?;
            println!(
                "disabled {name}: {} sessions ended, {} devices refused until enable-user",
                done.sessions_ended, done.devices_refused
            );
        }
        AdminCommand::EnableUser { name } => {
            if !store.enable_user(&name)? {
                bail!("no user named '{name}'");
            }
            audit(
                store,
                NewEntry::cli("user.enable")
                    .target("user", &name)
                    .in_division(jurisdiction_of(store, &name).as_ref()),
            )?;
            println!("enabled {name}: they may sign in and their devices sync again");
        }
        AdminCommand::SetPassword { name, .. } => {
            store.set_password(&name, &read_password()?)?;
            // Never the password.
            audit(
                store,
                NewEntry::cli("user.password")
                    .target("user", &name)
                    .in_division(jurisdiction_of(store, &name).as_ref()),
            )?;
            println!("password set for {name}; their open sessions ended");
        }
        AdminCommand::EnrollmentCode { user, server_url } => {
            // Never the code.
            let code = store.issue_enrollment_code_logged(
                &user,
                Some(
                    &NewEntry::cli("device.enrollment_code")
                        .target("user", &user)
                        .in_division(jurisdiction_of(store, &user).as_ref()),
                ),
            )?;
            let qr = match server_url {
                Some(url) => format!("gridwalk-enroll:1:{code}:{url}"),
                None => format!("gridwalk-enroll:1:{code}"),
            };
            println!(
                "enrollment code for {user}, valid {} days; QR payload: {qr}",
                gridwalk_server::store::ENROLLMENT_CODE_TTL_DAYS
            );
            println!("{code}");
        }
        AdminCommand::RevokeDevice { device_id } => {
            let id = uuid::Uuid::parse_str(device_id.trim())
                .with_context(|| format!("'{device_id}' is not a device id"))?;
            let owner = store
                .devices()?
                .into_iter()
                .find(|d| d.id == id)
                .and_then(|d| jurisdiction_of(store, &d.user));
            let entry = NewEntry::cli("device.revoke")
                .target("device", id)
                .in_division(owner.as_ref());
            if !store.revoke_device_logged(id, Some(&entry))? {
                bail!("no device {id}");
            }
            println!("revoked device {id}");
        }
        AdminCommand::Devices => {
            println!("{}", serde_json::to_string_pretty(&store.devices()?)?);
        }
        AdminCommand::NewEpoch => {
            let epoch = store.new_epoch_logged(Some(NewEntry::cli("epoch.new")))?;
            println!("new epoch {epoch}: every device pulls the register again from the start");
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

#[allow(clippy::too_many_arguments)] // the serve flags, each passed on once
fn serve(
    data: DataDir,
    (blobs, blob_dir): (
        std::sync::Arc<dyn object_store::ObjectStore>,
        Option<PathBuf>,
    ),
    store: gridwalk_server::Store,
    listen: SocketAddr,
    tls: Option<serve::Tls>,
    limits: ConnLimits,
    rate: gridwalk_server::ratelimit::RateLimitConfig,
    uploads: UploadLimits,
    console_dir: Option<PathBuf>,
    map_tiles: Option<gridwalk_server::map_view::MapTiles>,
    print: gridwalk_server::print::PrintConfig,
    metrics: gridwalk_server::metrics::Metrics,
) -> Result<()> {
    let templates = store.publish_templates()?;
    tracing::info!(templates, "shipped templates published");
    match &console_dir {
        Some(d) => tracing::info!(dir = %d.display(), "serving the console at /console/"),
        None => tracing::warn!("the console is not built (console/dist); /console/ says how"),
    }
    let state = gridwalk_server::state(&data, store, blobs)?
        .with_blob_dir(blob_dir)
        .with_upload_limits(uploads.clone())
        .with_rate_limits(gridwalk_server::ratelimit::RateLimits::new(rate))
        .with_tls(tls.is_some())
        .with_console_dir(console_dir)
        .with_map_tiles(map_tiles)
        .with_print(print)
        .with_metrics(metrics);
    match state.print.font() {
        Ok(f) => tracing::info!(
            font = f.name(),
            "printed records (检查记录) set in this font"
        ),
        Err(e) => tracing::warn!("printed records are unavailable: {e}"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("listening on {scheme}://{addr}");
        tracing::info!(%addr, data = %data.0.display(), blobs = %state.blobs, ?limits, ?rate, ?uploads, "serving");
        let sweeper = gridwalk_server::tus::spawn_sweeper(state.clone());
        serve::serve_with(
            listener,
            gridwalk_server::app(state),
            limits,
            tls,
            shutdown_signal(),
        )
        .await
        .context("server failed")?;
        sweeper.abort();
        tracing::info!("shut down cleanly");
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
