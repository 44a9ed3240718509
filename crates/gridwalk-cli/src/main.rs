//! `gridwalk`: a headless GridWalk device. The same device crate as the app, driven from
//! the command line; `--json` gives machine-readable output.
//!
//! Exit codes: 0 success; 1 error (message on stderr); 3 an import stored its good rows
//! but rejected some (listed); 4 a `sync --once` run ended with work left (offline,
//! photos waiting for Wi-Fi); for `uscc check`, 1 means invalid.

mod evidence_cmd;
mod inspect_cmd;
mod lease_cmd;
mod output;
mod register_cmd;
mod suspected_cmd;
mod sync_cmd;
mod work_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// GridWalk (网格巡查) device command line.
#[derive(Debug, Parser)]
#[command(name = "gridwalk", version, about)]
pub struct Cli {
    /// Device database file (created if missing).
    #[arg(
        long,
        global = true,
        env = "GRIDWALK_DB",
        default_value = "gridwalk.db"
    )]
    pub db: PathBuf,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Creates the database (or brings its schema up to date).
    Init,
    /// The jurisdiction tree.
    #[command(subcommand)]
    Divisions(register_cmd::DivisionsCmd),
    /// The enterprise register.
    #[command(subcommand)]
    Enterprises(register_cmd::EnterprisesCmd),
    /// Business-licence codes.
    #[command(subcommand)]
    Uscc(register_cmd::UsccCmd),
    /// The photo evidence pipeline.
    #[command(subcommand)]
    Photo(evidence_cmd::PhotoCmd),
    /// This device's evidence chain.
    #[command(subcommand)]
    Evidence(evidence_cmd::EvidenceCmd),
    /// Map datums (WGS-84, GCJ-02) and distances.
    #[command(subcommand)]
    Geo(evidence_cmd::GeoCmd),
    /// Checklist templates.
    #[command(subcommand)]
    Templates(inspect_cmd::TemplatesCmd),
    /// Inspections: start, answer, attach photos, finalize.
    #[command(subcommand)]
    Inspect(inspect_cmd::InspectCmd),
    /// Hazards (隐患) and their lifecycle.
    #[command(subcommand)]
    Hazards(inspect_cmd::HazardsCmd),
    /// The enrolled user's assignments (任务) pulled from the server: open ones by due
    /// date (`--all`: every state).
    Assignments(work_cmd::AssignmentsArgs),
    /// 厂中厂 leases recorded on this device.
    #[command(subcommand)]
    Lease(lease_cmd::LeaseCmd),
    /// 疑似 (suspected) enterprises pulled for this village: list, confirm, not found.
    #[command(subcommand)]
    Suspected(suspected_cmd::SuspectedCmd),
    /// Demo data.
    #[command(subcommand)]
    Demo(register_cmd::DemoCmd),
    /// Enrolls this device with a server using a one-time code.
    Enroll(sync_cmd::EnrollArgs),
    /// Sends finalized records and photos to the server and pulls register changes.
    Sync(sync_cmd::SyncArgs),
    /// What is waiting to be sent, what the server holds, last success and error.
    Status,
    /// Device settings: server address, photos on Wi-Fi only.
    #[command(subcommand)]
    Config(sync_cmd::ConfigCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(err) => {
            output::error(&cli, &err);
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Init => register_cmd::init(cli),
        Command::Divisions(cmd) => register_cmd::divisions(cli, cmd),
        Command::Enterprises(cmd) => register_cmd::enterprises(cli, cmd),
        Command::Uscc(cmd) => register_cmd::uscc(cli, cmd),
        Command::Demo(cmd) => register_cmd::demo(cli, cmd),
        Command::Lease(cmd) => lease_cmd::lease(cli, cmd),
        Command::Suspected(cmd) => suspected_cmd::suspected(cli, cmd),
        Command::Photo(cmd) => evidence_cmd::photo(cli, cmd),
        Command::Geo(cmd) => evidence_cmd::geo(cli, cmd),
        Command::Evidence(cmd) => evidence_cmd::evidence(cli, cmd),
        Command::Templates(cmd) => inspect_cmd::templates(cli, cmd),
        Command::Inspect(cmd) => inspect_cmd::inspect(cli, cmd),
        Command::Hazards(cmd) => inspect_cmd::hazards(cli, cmd),
        Command::Assignments(a) => work_cmd::assignments(cli, a),
        Command::Enroll(a) => sync_cmd::enroll(cli, a),
        Command::Sync(a) => sync_cmd::sync(cli, a),
        Command::Status => sync_cmd::status(cli),
        Command::Config(cmd) => sync_cmd::config(cli, cmd),
    }
}
