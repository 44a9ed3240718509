//! An officer's work pulled from the server: `assignments` (任务) of the enrolled user.
//! Reviews of inspections show in `inspect show`.

use crate::output;
use crate::Cli;
use anyhow::Result;
use clap::Args;
use gridwalk_device::Store;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AssignmentsArgs {
    /// Every state (open, fulfilled, cancelled), not only the open ones.
    #[arg(long)]
    pub all: bool,
}

/// `assignments [--all]`: the enrolled user's assignments, open ones first by due date;
/// `--json` prints an array of the assignments' fields plus `overdue` (China date) and
/// `enterprise_name` (null when the enterprise is not on this device).
pub fn assignments(cli: &Cli, a: &AssignmentsArgs) -> Result<ExitCode> {
    let store = Store::open(&cli.db)?;
    let list = store.my_assignments(a.all)?;
    if cli.json {
        output::json(&list)?;
    } else if list.is_empty() {
        println!(
            "{}",
            if a.all {
                "no assignments"
            } else {
                "no open assignments"
            }
        );
    } else {
        for v in &list {
            let x = &v.assignment;
            println!(
                "{}\t{}{}\t{}\t{}\t{}\t{}",
                x.due,
                x.status.as_str(),
                if v.overdue { " 逾期" } else { "" },
                v.enterprise_name.as_deref().unwrap_or(&x.enterprise_uscc),
                x.template_id,
                x.note.as_deref().unwrap_or("-"),
                x.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
