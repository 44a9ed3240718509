//! `suspected list | confirm | not-found`: the 疑似 (suspected) enterprises pulled for
//! this village and the grid worker's answer, as the app's 疑似单位核实 screen gives it
//! (docs/tips.md).

use crate::lease_cmd::author;
use crate::output;
use crate::Cli;
use anyhow::Result;
use clap::{Args, Subcommand};
use gridwalk_device::suspected::SuspectedInput;
use gridwalk_device::Store;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SuspectedCmd {
    /// The entries waiting for the sweep (`--all`: every entry, with its state).
    List {
        #[arg(long)]
        all: bool,
    },
    /// The unit was found at the address: registers it on site by its USCC.
    Confirm(ConfirmArgs),
    /// 查无此单位: no such unit at the address.
    NotFound(NotFoundArgs),
}

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// The entry's id.
    pub id: String,
    /// The USCC on the unit's business licence.
    #[arg(long)]
    pub uscc: String,
    /// The unit's name on the licence.
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub industry: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
    /// Who answers (default: the enrolled user).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct NotFoundArgs {
    /// The entry's id.
    pub id: String,
    /// What is at the address.
    #[arg(long)]
    pub note: String,
    /// Who answers (default: the enrolled user).
    #[arg(long)]
    pub by: Option<String>,
}

pub fn suspected(cli: &Cli, cmd: &SuspectedCmd) -> Result<ExitCode> {
    let store = Store::open(&cli.db)?;
    let (input, by) = match cmd {
        SuspectedCmd::List { all } => {
            let items = store.suspected_entries(!all)?;
            if cli.json {
                output::json(&items)?;
            } else {
                for i in &items {
                    println!(
                        "{}  {}  {}  期限 {}  {}",
                        i.id,
                        i.state,
                        i.name.as_deref().unwrap_or("(未具名)"),
                        i.deadline,
                        i.address
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        SuspectedCmd::Confirm(a) => (
            SuspectedInput {
                suspected_id: a.id.clone(),
                found: true,
                uscc: Some(a.uscc.clone()),
                name: Some(a.name.clone()),
                industry: a.industry.clone(),
                note: a.note.clone(),
            },
            a.by.as_deref(),
        ),
        SuspectedCmd::NotFound(a) => (
            SuspectedInput {
                suspected_id: a.id.clone(),
                found: false,
                uscc: None,
                name: None,
                industry: None,
                note: Some(a.note.clone()),
            },
            a.by.as_deref(),
        ),
    };
    let (by, jurisdiction) = author(&store, by)?;
    let done = store.answer_suspected(jurisdiction.as_deref(), &by, &input)?;
    if cli.json {
        output::json(&done)?;
    } else {
        println!(
            "suspected enterprise {} answered {} (record {}); the next sync sends it",
            input.suspected_id, done.state, done.record_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
