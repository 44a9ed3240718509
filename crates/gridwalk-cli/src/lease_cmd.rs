//! `lease add`: records a 厂中厂 lease offline, as the app's `record_lease` does
//! (docs/leases.md "Leases recorded on a phone").

use crate::output;
use crate::Cli;
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use gridwalk_device::leases::{LeaseInput, NewSite, NewTenant};
use gridwalk_device::Store;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum LeaseCmd {
    /// Records a lease (and a new site or tenant) on this device; the next sync sends it.
    Add(LeaseAddArgs),
}

#[derive(Debug, Args)]
pub struct LeaseAddArgs {
    /// The landlord (出租方): USCC or enterprise id.
    #[arg(long)]
    pub landlord: String,
    /// An existing site of the landlord (its id).
    #[arg(
        long,
        conflicts_with = "new_site",
        required_unless_present = "new_site"
    )]
    pub site: Option<String>,
    /// A new site of the landlord, by name.
    #[arg(long)]
    pub new_site: Option<String>,
    /// The new site's address.
    #[arg(long, requires = "new_site")]
    pub site_address: Option<String>,
    /// An existing tenant (承租方): USCC or enterprise id.
    #[arg(
        long,
        conflicts_with_all = ["new_tenant_name", "new_tenant_uscc"],
        required_unless_present = "new_tenant_name"
    )]
    pub tenant: Option<String>,
    /// A new tenant's name (registered on site).
    #[arg(long, requires = "new_tenant_uscc")]
    pub new_tenant_name: Option<String>,
    /// A new tenant's USCC.
    #[arg(long, requires = "new_tenant_name")]
    pub new_tenant_uscc: Option<String>,
    /// A new tenant's village code (default: the landlord's village).
    #[arg(long, requires = "new_tenant_name")]
    pub new_tenant_village: Option<String>,
    /// Floors rented, as written (`3-4`).
    #[arg(long)]
    pub floors: Option<String>,
    /// Area rented, m².
    #[arg(long)]
    pub area: Option<f64>,
    /// Start date, YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// End date, YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    /// 用途 / 生产工艺.
    #[arg(long = "use")]
    pub use_zh: Option<String>,
    /// Production equipment is leased with the space.
    #[arg(long)]
    pub equipment_leased: bool,
    /// 安全生产管理协议 signed: `yes` or `no`.
    #[arg(long)]
    pub agreement: Option<String>,
    /// Who records it (default: the enrolled user, else $GRIDWALK_USER, else `device`).
    #[arg(long)]
    pub by: Option<String>,
}

/// Who records something on this device and in which jurisdiction, as in the app: the
/// enrolled user (`by` overrides the name, else $GRIDWALK_USER, else `device`).
pub(crate) fn author(store: &Store, by: Option<&str>) -> Result<(String, Option<String>)> {
    let enrolled = store.enrollment()?.map(|e| e.user);
    let name = by
        .map(str::to_string)
        .or_else(|| enrolled.as_ref().map(|u| u.name.clone()))
        .or_else(|| std::env::var("GRIDWALK_USER").ok())
        .unwrap_or_else(|| "device".into());
    Ok((name, enrolled.map(|u| u.jurisdiction)))
}

pub fn lease(cli: &Cli, cmd: &LeaseCmd) -> Result<ExitCode> {
    let LeaseCmd::Add(a) = cmd;
    let agreement = match a.agreement.as_deref() {
        None => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(other) => bail!("--agreement takes yes or no, not {other:?}"),
    };
    let input = LeaseInput {
        landlord: a.landlord.clone(),
        site_id: a.site.clone(),
        new_site: a.new_site.as_ref().map(|name| NewSite {
            name: name.clone(),
            address: a.site_address.clone(),
        }),
        tenant: a.tenant.clone(),
        new_tenant: match (&a.new_tenant_name, &a.new_tenant_uscc) {
            (Some(name), Some(uscc)) => Some(NewTenant {
                name: name.clone(),
                uscc: uscc.clone(),
                village_code: a.new_tenant_village.clone(),
                industry: None,
            }),
            _ => None,
        },
        floors: a.floors.clone(),
        area_m2: a.area,
        start_date: a.from.clone(),
        end_date: a.to.clone(),
        use_zh: a.use_zh.clone(),
        equipment_leased: a.equipment_leased,
        equipment_description: None,
        safety_agreement_signed: agreement,
    };
    let store = Store::open(&cli.db)?;
    let (by, jurisdiction) = author(&store, a.by.as_deref())?;
    let done = store.record_lease(jurisdiction.as_deref(), &by, &input)?;
    if cli.json {
        output::json(&done)?;
    } else {
        println!(
            "lease {} recorded (site {}, tenant {}); the next sync sends it",
            done.lease_id, done.site_id, done.tenant_id
        );
    }
    Ok(ExitCode::SUCCESS)
}
