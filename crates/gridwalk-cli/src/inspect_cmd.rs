//! Checklist commands: templates, inspections, hazards. (Being built.)

use crate::Cli;
use anyhow::{bail, Result};
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TemplatesCmd {
    /// Lists the checklist templates.
    List,
}

#[derive(Debug, Subcommand)]
pub enum InspectCmd {
    /// Starts an inspection.
    Start,
}

#[derive(Debug, Subcommand)]
pub enum HazardsCmd {
    /// Lists hazards.
    List,
}

pub fn templates(_cli: &Cli, _cmd: &TemplatesCmd) -> Result<ExitCode> {
    bail!("not implemented yet")
}

pub fn inspect(_cli: &Cli, _cmd: &InspectCmd) -> Result<ExitCode> {
    bail!("not implemented yet")
}

pub fn hazards(_cli: &Cli, _cmd: &HazardsCmd) -> Result<ExitCode> {
    bail!("not implemented yet")
}
