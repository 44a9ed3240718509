//! Register commands: init, divisions, enterprises, uscc, demo.

use crate::output;
use crate::Cli;
use anyhow::{Context, Result};
use clap::Subcommand;
use gridwalk_core::Uscc;
use gridwalk_device::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when an import stored its good rows but rejected some.
pub const EXIT_ROWS_REJECTED: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum DivisionsCmd {
    /// Imports divisions from CSV/XLSX with columns code,name,level,parent_code.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum EnterprisesCmd {
    /// Imports enterprises from CSV/XLSX (upsert by USCC).
    Import { file: PathBuf },
    /// Searches by Chinese name/address substring, pinyin (full or initials) or USCC prefix.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Shows one enterprise by id or USCC.
    Show { key: String },
}

#[derive(Debug, Subcommand)]
pub enum UsccCmd {
    /// Validates a code: prints `valid` (exit 0) or `invalid: <reason>` (exit 1).
    Check { code: String },
}

#[derive(Debug, Subcommand)]
pub enum DemoCmd {
    /// Writes a demo register CSV for the villages in a divisions file.
    Register {
        /// Divisions CSV (code,name,level,parent_code).
        #[arg(long)]
        divisions: PathBuf,
        #[arg(long, default_value_t = 500)]
        count: usize,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        /// Output CSV file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn open(cli: &Cli) -> Result<Store> {
    Store::open(&cli.db).with_context(|| format!("opening {}", cli.db.display()))
}

fn import_exit(rejected: bool) -> ExitCode {
    if rejected {
        ExitCode::from(EXIT_ROWS_REJECTED)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn init(cli: &Cli) -> Result<ExitCode> {
    let store = open(cli)?;
    let version = store.schema_version()?;
    if cli.json {
        output::json(&serde_json::json!({ "db": cli.db, "schema_version": version }))?;
    } else {
        println!(
            "initialised {} (schema version {version})",
            cli.db.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn divisions(cli: &Cli, cmd: &DivisionsCmd) -> Result<ExitCode> {
    match cmd {
        DivisionsCmd::Import { file } => {
            let store = open(cli)?;
            let report = store.import_divisions(file)?;
            Ok(import_exit(output::import_report(
                cli,
                "divisions",
                &report,
            )?))
        }
    }
}

pub fn enterprises(cli: &Cli, cmd: &EnterprisesCmd) -> Result<ExitCode> {
    let store = open(cli)?;
    match cmd {
        EnterprisesCmd::Import { file } => {
            let report = store.import_enterprises(file)?;
            Ok(import_exit(output::import_report(
                cli,
                "enterprises",
                &report,
            )?))
        }
        EnterprisesCmd::Search { query, limit } => {
            let hits = store.search_enterprises(query, *limit)?;
            if cli.json {
                output::json(&hits)?;
            } else if hits.is_empty() {
                println!("no enterprise matches '{query}'");
            } else {
                for h in hits {
                    println!(
                        "{}  {}  {}  {}",
                        h.uscc,
                        h.name,
                        h.village_name.as_deref().unwrap_or(&h.village_code),
                        h.id
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EnterprisesCmd::Show { key } => {
            let d = store.enterprise(key)?;
            if cli.json {
                output::json(&d)?;
            } else {
                let e = &d.enterprise;
                println!("{}  ({})", e.name, e.uscc);
                println!("  id:        {}", e.id);
                println!(
                    "  village:   {} {} ({})",
                    d.town_name.as_deref().unwrap_or(""),
                    d.village_name.as_deref().unwrap_or(""),
                    e.village_code
                );
                if let Some(a) = &e.address {
                    println!("  address:   {a}");
                }
                if let Some(l) = e.location {
                    println!("  location:  {:.6}, {:.6} (WGS-84)", l.lat, l.lon);
                }
                if let Some(i) = &e.industry {
                    println!("  industry:  {i}");
                }
                let dust: Vec<String> = e.dust_types.iter().map(|t| t.name_zh()).collect();
                println!(
                    "  dust:      {}{}",
                    if e.dust_involved {
                        "涉粉"
                    } else {
                        "不涉粉"
                    },
                    if dust.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", dust.join("、"))
                    }
                );
                if e.al_mg {
                    println!("  al/mg:     涉铝镁");
                }
                if let Some(w) = e.workers_per_shift {
                    println!("  workers:   {w} per shift");
                }
                match &e.safety_officer {
                    Some(o) => println!(
                        "  officer:   {} {}{}",
                        o.name,
                        o.phone.as_deref().unwrap_or(""),
                        if o.confirmed_on_site {
                            " (confirmed on site)"
                        } else {
                            ""
                        }
                    ),
                    None => println!("  officer:   none recorded"),
                }
                println!(
                    "  risk report: {}   warning education: {}",
                    e.risk_report.name_zh(),
                    e.warning_education.name_zh()
                );
                for s in &d.sites_as_landlord {
                    println!(
                        "  lets site {} to {} tenant(s):",
                        s.site.name,
                        s.leases.len()
                    );
                    for l in &s.leases {
                        println!(
                            "    - {} ({}) floors {}{}",
                            l.tenant_name,
                            l.tenant_uscc,
                            l.lease.floors.as_deref().unwrap_or("?"),
                            if l.lease.equipment_leased {
                                ", with equipment"
                            } else {
                                ""
                            }
                        );
                    }
                }
                for l in &d.leases_as_tenant {
                    println!(
                        "  tenant of {} at {} floors {}{}",
                        l.landlord_name,
                        l.site_name,
                        l.lease.floors.as_deref().unwrap_or("?"),
                        if l.lease.equipment_leased {
                            ", equipment leased too"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn uscc(cli: &Cli, cmd: &UsccCmd) -> Result<ExitCode> {
    let UsccCmd::Check { code } = cmd;
    let result = Uscc::parse(code);
    if cli.json {
        output::json(&match &result {
            Ok(c) => serde_json::json!({ "valid": true, "code": c.as_str() }),
            Err(e) => {
                serde_json::json!({ "valid": false, "reason": e.to_string(), "reason_zh": e.message_zh() })
            }
        })?;
    } else {
        match &result {
            Ok(_) => println!("valid"),
            Err(e) => println!("invalid: {e}"),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn demo(cli: &Cli, cmd: &DemoCmd) -> Result<ExitCode> {
    let DemoCmd::Register {
        divisions,
        count,
        seed,
        out,
    } = cmd;
    let text = std::fs::read_to_string(divisions)
        .with_context(|| format!("reading {}", divisions.display()))?;
    let divs = gridwalk_demo::parse_divisions_csv(&text);
    let rows = gridwalk_demo::generate(&divs, *count, *seed);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    gridwalk_demo::write_csv(&rows, std::io::BufWriter::new(file))?;
    if cli.json {
        output::json(&serde_json::json!({ "out": out, "enterprises": rows.len() }))?;
    } else {
        println!("wrote {} demo enterprises to {}", rows.len(), out.display());
    }
    Ok(ExitCode::SUCCESS)
}
