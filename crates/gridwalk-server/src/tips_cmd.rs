//! `gridwalk-server tips list|summary`: the tip-offs of a division (docs/tips.md), a
//! thin shell over [`gridwalk_server::tips`]. Never prints a reporter.

use crate::officer_cmd::{actor, print_json};
use anyhow::{Context, Result};
use clap::Subcommand;
use gridwalk_core::DivisionCode;
use gridwalk_server::tips::TipStatus;
use gridwalk_server::Store;

/// `tips …`.
#[derive(Subcommand)]
pub enum TipsCommand {
    /// Tips of a division, newest received first.
    List {
        #[arg(long)]
        division: String,
        /// unassigned, verifying, verified or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Received, verified, pending and overdue tips per child division.
    Summary {
        #[arg(long)]
        division: String,
        #[arg(long = "as")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `tips` command.
pub fn run(store: &Store, command: TipsCommand) -> Result<()> {
    match command {
        TipsCommand::List {
            division,
            status,
            as_user,
            json,
        } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => Some(TipStatus::parse(s).with_context(|| {
                    format!("--status {s}: use unassigned, verifying, verified or cancelled")
                })?),
            };
            let list = store.tips(
                &actor(store, as_user.as_deref())?,
                &DivisionCode::parse(&division)?,
                status,
            )?;
            if json {
                return print_json(&list);
            }
            for t in &list {
                println!(
                    "{} {} {} {} due {} {}{}",
                    t.id,
                    t.received_on,
                    t.source.name_zh(),
                    t.enterprise_name
                        .as_deref()
                        .or(t.address.as_deref())
                        .unwrap_or("-"),
                    t.deadline,
                    t.outcome.map(|o| o.name_zh()).unwrap_or(t.status.name_zh()),
                    if t.overdue { " 逾期" } else { "" }
                );
            }
            println!("{} tips", list.len());
            Ok(())
        }
        TipsCommand::Summary {
            division,
            as_user,
            json,
        } => {
            let s = store.tip_summary(
                &actor(store, as_user.as_deref())?,
                &DivisionCode::parse(&division)?,
            )?;
            if json {
                return print_json(&s);
            }
            for c in &s.children {
                println!(
                    "{} {}: received {} verified {} pending {} overdue {}",
                    c.code,
                    c.name.as_deref().unwrap_or(""),
                    c.counts.received,
                    c.counts.verified,
                    c.counts.pending,
                    c.counts.overdue
                );
            }
            println!(
                "total: received {} verified {} pending {} overdue {}",
                s.counts.received, s.counts.verified, s.counts.pending, s.counts.overdue
            );
            Ok(())
        }
    }
}
