//! Loading the register the devices pull, from the same CSV/XLSX files the device CLI
//! reads (`docs/register-import.md`).
//!
//! Reading and validation are `gridwalk-register`'s, shared with the phone's import:
//! the same rules, row numbers and messages, and re-imports merge exactly as on a
//! device. The merge runs over the server's own tables (its `division` rows and the
//! imported `enterprise.body` of every register entry), inside the transaction that
//! publishes the result, where only what changed gets a new place in the pull change
//! log. Rows a phone registered (a lease's tenant the register lacked) are not the
//! register's and are left to the phone leases (`phone_leases.rs`) until a file lists
//! them. A `register.db` left in the data directory by older servers (the staging phone
//! database imports used to run through) is no longer read.

use crate::db::{Dialect, Row, Tx};
use crate::error::StoreError;
use crate::store::{PublishedEnterprise, Store};
use gridwalk_core::division::Division;
use gridwalk_core::enterprise::{Enterprise, Lease, Site};
use gridwalk_core::{DivisionCode, DivisionLevel};
use gridwalk_register::tabular::{read_table, Table, TableError};
use gridwalk_register::{Change, DivisionStore, EnterpriseStore, ImportError, ImportReport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::Path;
use uuid::Uuid;

/// What an import did: the device-format report and how many entries devices will get.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RegisterImport {
    #[serde(flatten)]
    pub report: ImportReport,
    /// Divisions and enterprises published anew (changed or new).
    pub published: usize,
}

/// Which table a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterFile {
    Divisions,
    Enterprises,
}

/// Why an import failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The file cannot be read as a register table (nothing was imported).
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Imports a divisions or enterprises file and publishes the register, in one
/// transaction.
pub fn import(
    store: &Store,
    kind: RegisterFile,
    file: &Path,
) -> Result<RegisterImport, RegisterError> {
    let table = read_table(file)?;
    let pg = store.dialect() == Dialect::Postgres;
    let outcome = store.tx(|t| {
        let mut register = Register::load(t)?;
        match merge(&mut register, kind, &table, file) {
            Ok(report) => {
                let published = register.publish(t, pg)?;
                Ok(Ok(RegisterImport { report, published }))
            }
            // A header without a required column: nothing was merged.
            Err(e) => Ok(Err(e)),
        }
    })?;
    Ok(outcome?)
}

fn merge(
    register: &mut Register,
    kind: RegisterFile,
    table: &Table,
    file: &Path,
) -> Result<ImportReport, TableError> {
    let merged = match kind {
        RegisterFile::Divisions => gridwalk_register::import_divisions(table, file, register),
        RegisterFile::Enterprises => gridwalk_register::import_enterprises(table, file, register),
    };
    merged.map_err(|e| match e {
        ImportError::Table(t) => t,
        ImportError::Store(never) => match never {},
    })
}

/// The register entry of an enterprise as devices get it (the phone's
/// `EnterpriseDetail` without its fit-to-lease statuses), and as `enterprise.body`
/// holds what the register files said.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    enterprise: Enterprise,
    village_name: Option<String>,
    town_name: Option<String>,
    /// Sites this enterprise lets out, each with its tenants.
    #[serde(default)]
    sites_as_landlord: Vec<SiteEntry>,
    /// Leases this enterprise holds as a tenant (厂中厂).
    #[serde(default)]
    leases_as_tenant: Vec<LeaseEntry>,
    /// Registered on a phone, not by a register file.
    #[serde(default)]
    registered_on_site: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SiteEntry {
    #[serde(flatten)]
    site: Site,
    #[serde(default)]
    leases: Vec<LeaseEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseEntry {
    #[serde(flatten)]
    lease: Lease,
    tenant_name: String,
    tenant_uscc: String,
    site_name: String,
    landlord_name: String,
}

/// The register as the server holds it, read into memory for one import: the
/// `division` table and the imported entries of `enterprise`, taken apart into
/// enterprises, sites and leases as the phone's tables hold them.
#[derive(Debug, Default)]
struct Register {
    divisions: HashMap<String, Division>,
    enterprises: HashMap<Uuid, Enterprise>,
    sites: HashMap<Uuid, Site>,
    /// By (site, tenant): one lease per pair.
    leases: BTreeMap<(Uuid, Uuid), Lease>,
}

/// Register entries rendered before they are published (see [`Register::publish`]).
const PUBLISH_BATCH: usize = 1000;

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("register {what}: {detail}"))
}

impl Register {
    fn load(t: &mut dyn Tx) -> Result<Register, StoreError> {
        let mut r = Register::default();
        for row in t.query("SELECT code, name, level, parent_code FROM division", &[])? {
            let d = division_of(&row)?;
            r.divisions.insert(d.code.as_str().to_string(), d);
        }
        t.query_each("SELECT uscc, body FROM enterprise", &[], &mut |row| {
            let uscc = row.str(0)?;
            let entry = match serde_json::from_str::<Entry>(&row.str(1)?) {
                Ok(e) => e,
                Err(e) => {
                    // A file listing it again writes a good entry over it.
                    tracing::warn!(%uscc, error = %e, "register entry does not parse; left out of the merge");
                    return Ok(());
                }
            };
            if entry.registered_on_site {
                return Ok(());
            }
            for s in entry.sites_as_landlord {
                for l in s.leases {
                    r.leases.insert((l.lease.site_id, l.lease.tenant_id), l.lease);
                }
                r.sites.insert(s.site.id, s.site);
            }
            for l in entry.leases_as_tenant {
                r.leases.insert((l.lease.site_id, l.lease.tenant_id), l.lease);
            }
            r.enterprises.insert(entry.enterprise.id, entry.enterprise);
            Ok(())
        })?;
        Ok(r)
    }

    /// Every division and register entry, rendered anew and handed to
    /// [`crate::store::publish_register_in`], which offers only the changed ones;
    /// returns how many changed.
    fn publish(&self, t: &mut dyn Tx, pg: bool) -> Result<usize, StoreError> {
        let mut divisions: Vec<Division> = self.divisions.values().cloned().collect();
        divisions.sort_by(|a, b| {
            (a.code.as_str().len(), a.code.as_str()).cmp(&(b.code.as_str().len(), b.code.as_str()))
        });
        let mut enterprises: Vec<&Enterprise> = self.enterprises.values().collect();
        enterprises.sort_by(|a, b| a.uscc.as_str().cmp(b.uscc.as_str()));
        let by_tenant = group(self.leases.values(), |l| l.tenant_id);
        let by_site = group(self.leases.values(), |l| l.site_id);
        let by_landlord = group(self.sites.values(), |s| s.landlord_id);
        let mut changed = crate::store::publish_register_in(t, pg, &divisions, &[])?;
        // Rendered and published a batch at a time: the rendered rows of a whole
        // register would take several times the memory of the register itself.
        let mut published = Vec::with_capacity(PUBLISH_BATCH);
        for e in enterprises {
            let village = self.divisions.get(e.village_code.as_str());
            let town = village
                .and_then(|v| v.parent_code.as_ref())
                .and_then(|p| self.divisions.get(p.as_str()));
            let mut leases_as_tenant: Vec<LeaseEntry> = by_tenant
                .get(&e.id)
                .into_iter()
                .flatten()
                .filter_map(|l| self.lease_entry(l))
                .collect();
            // The phone lists them as written: lease ids are time-ordered (UUIDv7).
            leases_as_tenant.sort_by_key(|l| l.lease.id);
            let mut sites_as_landlord: Vec<SiteEntry> = by_landlord
                .get(&e.id)
                .into_iter()
                .flatten()
                .map(|s| {
                    let mut leases: Vec<LeaseEntry> = by_site
                        .get(&s.id)
                        .into_iter()
                        .flatten()
                        .filter_map(|l| self.lease_entry(l))
                        .collect();
                    leases.sort_by(|a, b| {
                        (&a.tenant_name, a.lease.id).cmp(&(&b.tenant_name, b.lease.id))
                    });
                    SiteEntry {
                        site: (*s).clone(),
                        leases,
                    }
                })
                .collect();
            sites_as_landlord
                .sort_by(|a, b| (&a.site.name, a.site.id).cmp(&(&b.site.name, b.site.id)));
            let entry = Entry {
                enterprise: e.clone(),
                village_name: village.map(|v| v.name.clone()),
                town_name: town.map(|t| t.name.clone()),
                sites_as_landlord,
                leases_as_tenant,
                registered_on_site: false,
            };
            published.push(PublishedEnterprise {
                id: e.id,
                uscc: e.uscc.as_str().to_string(),
                village: DivisionCode::clone(&e.village_code),
                body: serde_json::to_value(&entry).map_err(|err| corrupt("entry", err))?,
            });
            if published.len() == PUBLISH_BATCH {
                changed += crate::store::publish_register_in(t, pg, &[], &published)?;
                published.clear();
            }
        }
        changed += crate::store::publish_register_in(t, pg, &[], &published)?;
        Ok(changed)
    }

    /// A lease with its parties' names; `None` when a party is missing (as the
    /// phone's join of lease, site and enterprises leaves such a lease out).
    fn lease_entry(&self, l: &Lease) -> Option<LeaseEntry> {
        let site = self.sites.get(&l.site_id)?;
        let tenant = self.enterprises.get(&l.tenant_id)?;
        let landlord = self.enterprises.get(&site.landlord_id)?;
        Some(LeaseEntry {
            lease: l.clone(),
            tenant_name: tenant.name.clone(),
            tenant_uscc: tenant.uscc.as_str().to_string(),
            site_name: site.name.clone(),
            landlord_name: landlord.name.clone(),
        })
    }
}

fn group<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> Uuid,
) -> HashMap<Uuid, Vec<&'a T>> {
    let mut out: HashMap<Uuid, Vec<&'a T>> = HashMap::new();
    for i in items {
        out.entry(key(i)).or_default().push(i);
    }
    out
}

fn division_of(row: &Row) -> Result<Division, StoreError> {
    let code = row.str(0)?;
    let level = row.str(2)?;
    Ok(Division {
        code: DivisionCode::parse(&code).map_err(|e| corrupt("division code", e))?,
        name: row.str(1)?,
        level: DivisionLevel::parse(&level).map_err(|e| corrupt("division level", e))?,
        parent_code: row
            .text(3)?
            .map(|p| DivisionCode::parse(&p))
            .transpose()
            .map_err(|e| corrupt("division parent", e))?,
    })
}

impl DivisionStore for Register {
    type Error = Infallible;

    fn has_division(&mut self, code: &DivisionCode) -> Result<bool, Infallible> {
        Ok(self.divisions.contains_key(code.as_str()))
    }

    fn write_division(&mut self, d: &Division) -> Result<Change, Infallible> {
        Ok(
            match self
                .divisions
                .insert(d.code.as_str().to_string(), d.clone())
            {
                None => Change::Inserted,
                Some(old) if old == *d => Change::Unchanged,
                Some(_) => Change::Updated,
            },
        )
    }
}

impl EnterpriseStore for Register {
    type Error = Infallible;

    fn division_level(&mut self, code: &DivisionCode) -> Result<Option<DivisionLevel>, Infallible> {
        Ok(self.divisions.get(code.as_str()).map(|d| d.level))
    }

    fn enterprise(&mut self, id: &Uuid) -> Result<Option<Enterprise>, Infallible> {
        Ok(self.enterprises.get(id).cloned())
    }

    fn write_enterprise(
        &mut self,
        e: &Enterprise,
        existing: Option<&Enterprise>,
    ) -> Result<Change, Infallible> {
        if existing == Some(e) {
            return Ok(Change::Unchanged);
        }
        self.enterprises.insert(e.id, e.clone());
        Ok(if existing.is_some() {
            Change::Updated
        } else {
            Change::Inserted
        })
    }

    fn write_site(&mut self, s: &Site) -> Result<(), Infallible> {
        let mut site = s.clone();
        if let Some(old) = self.sites.get(&s.id) {
            site.storeys = s.storeys.or(old.storeys);
            site.structure = s.structure.clone().or_else(|| old.structure.clone());
        }
        self.sites.insert(s.id, site);
        Ok(())
    }

    fn write_lease(&mut self, l: &Lease) -> Result<Change, Infallible> {
        let key = (l.site_id, l.tenant_id);
        let mut lease = l.clone();
        let change = match self.leases.get(&key) {
            Some(cur) => {
                lease.id = cur.id;
                if lease == *cur {
                    return Ok(Change::Unchanged);
                }
                Change::Updated
            }
            None => Change::Inserted,
        };
        self.leases.insert(key, lease);
        Ok(change)
    }
}
