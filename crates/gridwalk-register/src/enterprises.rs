//! Enterprises files: `name,uscc,village_code` and the optional columns of
//! `docs/register-import.md`, with the 厂中厂 lease of a tenant naming its landlord.

use crate::tabular::{Table, TableError};
use crate::{cell, parse_bool, require, row_err, Change, ImportError, ImportReport, RowError};
use chrono::NaiveDate;
use gridwalk_core::dust::{flags_from_dust_types, DustFlag};
use gridwalk_core::enterprise::{Enterprise, LatLon, Lease, SafetyOfficer, Site};
use gridwalk_core::ids::{enterprise_id, landlord_site_id, new_record_id};
use gridwalk_core::{DivisionCode, DivisionLevel, DustType, Uscc};
use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;
use uuid::Uuid;

/// The register of a store, as an enterprise import reads and writes it.
pub trait EnterpriseStore {
    /// What reading or writing the store can fail with.
    type Error: Display;
    /// The level of a held division, `None` when the store has no such division.
    fn division_level(&mut self, code: &DivisionCode)
        -> Result<Option<DivisionLevel>, Self::Error>;
    /// An enterprise of the register by id.
    fn enterprise(&mut self, id: &Uuid) -> Result<Option<Enterprise>, Self::Error>;
    /// Writes `e` over `existing` (what [`EnterpriseStore::enterprise`] returned for its
    /// id); says what changed.
    fn write_enterprise(
        &mut self,
        e: &Enterprise,
        existing: Option<&Enterprise>,
    ) -> Result<Change, Self::Error>;
    /// Inserts or updates a site (keyed by id); a `None` storeys or structure keeps the
    /// stored one.
    fn write_site(&mut self, s: &Site) -> Result<(), Self::Error>;
    /// Inserts or updates the lease of `l.site_id` and `l.tenant_id` (one per pair; an
    /// existing lease keeps its id); says what changed.
    fn write_lease(&mut self, l: &Lease) -> Result<Change, Self::Error>;
}

/// Imports the enterprises of `table` (read from `path`, named in errors) into `store`.
///
/// Enterprises are upserted by USCC, so re-importing the same file changes nothing.
/// Columns absent from a file leave the stored value alone (a register file does not
/// undo what an inspection confirmed); a blank cell of a present column clears it.
/// Leases are written after every row, so a landlord may come later in the file than
/// its tenant. The caller runs this in one transaction of its store.
pub fn import_enterprises<S: EnterpriseStore>(
    table: &Table,
    path: &Path,
    store: &mut S,
) -> Result<ImportReport, ImportError<S::Error>> {
    let cols = EnterpriseColumns::find(table, path)?;
    let mut report = ImportReport::for_table(table);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut tenants: Vec<(usize, Uuid, Uscc, LeaseCells)> = Vec::new();
    let mut valid_villages: HashMap<String, bool> = HashMap::new();
    for (row, cells) in &table.rows {
        let row = *row;
        let parsed = cols.parse_row(row, cells, store, &mut valid_villages);
        let (mut enterprise, landlord, lease_cells, present) = match parsed {
            Ok(p) => p,
            Err(e) => {
                report.rejected.push(e);
                continue;
            }
        };
        if let Some(first) = seen.get(enterprise.uscc.as_str()) {
            report.rejected.push(row_err(
                row,
                "uscc",
                format!("duplicate USCC {} (first at row {first})", enterprise.uscc),
            ));
            continue;
        }
        seen.insert(enterprise.uscc.as_str().to_string(), row);
        let existing = store
            .enterprise(&enterprise.id)
            .map_err(ImportError::Store)?;
        if let Some(existing) = &existing {
            enterprise = present.merge(existing.clone(), enterprise);
        }
        let change = store
            .write_enterprise(&enterprise, existing.as_ref())
            .map_err(ImportError::Store)?;
        report.count(change);
        if let Some(landlord) = landlord {
            tenants.push((row, enterprise.id, landlord, lease_cells));
        }
    }
    for (row, tenant_id, landlord_uscc, lease) in tenants {
        let landlord_id = enterprise_id(&landlord_uscc);
        if landlord_id == tenant_id {
            report.rejected.push(row_err(
                row,
                "landlord_uscc",
                "an enterprise cannot be its own landlord",
            ));
            continue;
        }
        let Some(landlord) = store.enterprise(&landlord_id).map_err(ImportError::Store)? else {
            report.rejected.push(row_err(
                row,
                "landlord_uscc",
                format!("landlord {landlord_uscc} is neither in this file nor in the register (enterprise row kept, lease not recorded)"),
            ));
            continue;
        };
        let site = Site {
            id: landlord_site_id(&landlord_uscc),
            name: format!("{}厂区", landlord.name),
            address: landlord.address.clone(),
            landlord_id,
            storeys: lease.storeys,
            structure: lease.structure.clone(),
        };
        store.write_site(&site).map_err(ImportError::Store)?;
        let l = Lease {
            id: new_record_id(),
            site_id: site.id,
            tenant_id,
            floors: lease.floors,
            area_m2: lease.area_m2,
            start_date: lease.start_date,
            end_date: lease.end_date,
            equipment_leased: lease.equipment_leased,
            equipment_description: lease.equipment_description,
            safety_agreement_signed: lease.safety_agreement_signed,
            use_zh: None,
            recorded_on_site: false,
        };
        if store.write_lease(&l).map_err(ImportError::Store)? != Change::Unchanged {
            report.leases_written += 1;
        }
    }
    report.rejected.sort_by_key(|e| e.row);
    Ok(report)
}

#[derive(Debug, Default)]
struct LeaseCells {
    floors: Option<String>,
    area_m2: Option<f64>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    equipment_leased: bool,
    equipment_description: Option<String>,
    safety_agreement_signed: Option<bool>,
    storeys: Option<u32>,
    structure: Option<String>,
}

/// Which optional columns a file has, so a merge keeps stored values for the others.
#[derive(Debug, Clone, Copy)]
struct Present {
    address: bool,
    location: bool,
    industry: bool,
    dust_involved: bool,
    dust_types: bool,
    workers: bool,
    al_mg: bool,
    key_supervision: bool,
    officer: bool,
}

impl Present {
    fn merge(&self, old: Enterprise, mut new: Enterprise) -> Enterprise {
        if !self.address {
            new.address = old.address;
        }
        if !self.location {
            new.location = old.location;
        }
        if !self.industry {
            new.industry = old.industry;
        }
        if !self.dust_types {
            new.dust_types = old.dust_types;
        }
        if !self.dust_involved && !self.dust_types {
            new.dust_involved = old.dust_involved;
        }
        if !self.workers {
            new.workers_per_shift = old.workers_per_shift;
        }
        if !self.al_mg && !self.dust_types {
            new.al_mg = old.al_mg;
        }
        if !self.key_supervision {
            new.key_supervision = old.key_supervision;
        }
        if !self.officer {
            new.safety_officer = old.safety_officer;
        }
        new.risk_report = old.risk_report;
        new.warning_education = old.warning_education;
        new
    }
}

struct EnterpriseColumns {
    name: usize,
    uscc: usize,
    village: usize,
    address: Option<usize>,
    lat: Option<usize>,
    lon: Option<usize>,
    industry: Option<usize>,
    dust_types: Option<usize>,
    dust_involved: Option<usize>,
    workers: Option<usize>,
    al_mg: Option<usize>,
    key_supervision: Option<usize>,
    officer_name: Option<usize>,
    officer_phone: Option<usize>,
    landlord: Option<usize>,
    lease_floors: Option<usize>,
    lease_area: Option<usize>,
    lease_start: Option<usize>,
    lease_end: Option<usize>,
    lease_equipment: Option<usize>,
    lease_equipment_desc: Option<usize>,
    lease_agreement: Option<usize>,
    site_storeys: Option<usize>,
    site_structure: Option<usize>,
}

type ParsedRow = (Enterprise, Option<Uscc>, LeaseCells, Present);

impl EnterpriseColumns {
    fn find(t: &Table, path: &Path) -> Result<Self, TableError> {
        Ok(EnterpriseColumns {
            name: require(t, path, &["name", "企业名称", "名称"])?,
            uscc: require(t, path, &["uscc", "统一社会信用代码", "信用代码"])?,
            village: require(t, path, &["village_code", "村社区代码", "村代码"])?,
            address: t.column(&["address", "地址"]),
            lat: t.column(&["lat", "纬度"]),
            lon: t.column(&["lon", "经度"]),
            industry: t.column(&["industry", "行业"]),
            dust_types: t.column(&["dust_types", "粉尘种类"]),
            dust_involved: t.column(&["dust_involved", "是否涉粉"]),
            workers: t.column(&["workers_per_shift", "单班涉粉人数"]),
            al_mg: t.column(&["al_mg", "涉铝镁"]),
            key_supervision: t.column(&["key_supervision", "重点监管"]),
            officer_name: t.column(&["safety_officer_name", "安全专员"]),
            officer_phone: t.column(&["safety_officer_phone", "安全专员电话"]),
            landlord: t.column(&["landlord_uscc", "出租方信用代码"]),
            lease_floors: t.column(&["lease_floors", "租赁楼层"]),
            lease_area: t.column(&["lease_area_m2", "租赁面积"]),
            lease_start: t.column(&["lease_start", "租赁起始"]),
            lease_end: t.column(&["lease_end", "租赁截止"]),
            lease_equipment: t.column(&["lease_equipment", "设备随租"]),
            lease_equipment_desc: t.column(&["lease_equipment_description", "随租设备"]),
            lease_agreement: t.column(&["lease_safety_agreement", "安全管理协议"]),
            site_storeys: t.column(&["site_storeys", "厂房层数"]),
            site_structure: t.column(&["site_structure", "建筑结构"]),
        })
    }

    fn parse_row<S: EnterpriseStore>(
        &self,
        row: usize,
        cells: &[String],
        store: &mut S,
        villages: &mut HashMap<String, bool>,
    ) -> Result<ParsedRow, RowError> {
        let c = |col: Option<usize>| cell(cells, col);
        let name = c(Some(self.name)).ok_or_else(|| row_err(row, "name", "empty"))?;
        let uscc_s = c(Some(self.uscc)).ok_or_else(|| row_err(row, "uscc", "empty"))?;
        let uscc = Uscc::parse(uscc_s)
            .map_err(|e| row_err(row, "uscc", format!("invalid USCC '{uscc_s}': {e}")))?;
        let village_s =
            c(Some(self.village)).ok_or_else(|| row_err(row, "village_code", "empty"))?;
        let village_code =
            DivisionCode::parse(village_s).map_err(|e| row_err(row, "village_code", e))?;
        let known = match villages.get(village_code.as_str()) {
            Some(k) => *k,
            None => {
                let level = store
                    .division_level(&village_code)
                    .map_err(|e| row_err(row, "village_code", e))?;
                let ok = matches!(level, Some(DivisionLevel::Village | DivisionLevel::Grid));
                villages.insert(village_code.as_str().to_string(), ok);
                ok
            }
        };
        if !known {
            return Err(row_err(
                row,
                "village_code",
                format!("unknown village or grid {village_code} (import divisions first)"),
            ));
        }
        let location = match (c(self.lat), c(self.lon)) {
            (None, None) => None,
            (Some(lat), Some(lon)) => {
                let lat: f64 = lat
                    .parse()
                    .map_err(|_| row_err(row, "lat", format!("'{lat}' is not a number")))?;
                let lon: f64 = lon
                    .parse()
                    .map_err(|_| row_err(row, "lon", format!("'{lon}' is not a number")))?;
                Some(LatLon::new(lat, lon).map_err(|e| row_err(row, "lat", e))?)
            }
            (Some(_), None) => return Err(row_err(row, "lon", "lat given without lon")),
            (None, Some(_)) => return Err(row_err(row, "lat", "lon given without lat")),
        };
        let dust_types = match c(self.dust_types) {
            None => Vec::new(),
            Some(s) => s
                .split([';', '；', '、'])
                .filter(|p| !p.trim().is_empty())
                .map(|p| DustType::parse(p).map_err(|e| row_err(row, "dust_types", e)))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let bool_cell = |col: Option<usize>, column: &str| -> Result<Option<bool>, RowError> {
            c(col)
                .map(|s| {
                    parse_bool(s)
                        .ok_or_else(|| row_err(row, column, format!("'{s}' is not yes/no (是/否)")))
                })
                .transpose()
        };
        let workers = c(self.workers)
            .map(|s| {
                s.parse::<u32>().map_err(|_| {
                    row_err(
                        row,
                        "workers_per_shift",
                        format!("'{s}' is not a whole number of workers"),
                    )
                })
            })
            .transpose()?;
        let derived = flags_from_dust_types(&dust_types);
        let dust_involved =
            bool_cell(self.dust_involved, "dust_involved")?.unwrap_or(!dust_types.is_empty());
        let al_mg =
            bool_cell(self.al_mg, "al_mg")?.unwrap_or(false) || derived.contains(&DustFlag::AlMg);
        let key_supervision = bool_cell(self.key_supervision, "key_supervision")?.unwrap_or(false);
        let landlord = c(self.landlord)
            .map(|s| {
                Uscc::parse(s)
                    .map_err(|e| row_err(row, "landlord_uscc", format!("invalid USCC '{s}': {e}")))
            })
            .transpose()?;
        let date = |col: Option<usize>, column: &str| -> Result<Option<NaiveDate>, RowError> {
            c(col)
                .map(|s| {
                    s.parse::<NaiveDate>().map_err(|_| {
                        row_err(row, column, format!("'{s}' is not a date (YYYY-MM-DD)"))
                    })
                })
                .transpose()
        };
        let lease = LeaseCells {
            floors: c(self.lease_floors).map(str::to_string),
            area_m2: c(self.lease_area)
                .map(|s| match s.parse::<f64>() {
                    Ok(a) if a.is_finite() && a > 0.0 => Ok(a),
                    _ => Err(row_err(
                        row,
                        "lease_area_m2",
                        format!("'{s}' is not a positive area"),
                    )),
                })
                .transpose()?,
            start_date: date(self.lease_start, "lease_start")?,
            end_date: date(self.lease_end, "lease_end")?,
            equipment_leased: bool_cell(self.lease_equipment, "lease_equipment")?.unwrap_or(false),
            equipment_description: c(self.lease_equipment_desc).map(str::to_string),
            safety_agreement_signed: bool_cell(self.lease_agreement, "lease_safety_agreement")?,
            storeys: c(self.site_storeys)
                .map(|s| match s.parse::<u32>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(row_err(
                        row,
                        "site_storeys",
                        format!("'{s}' is not a storey count"),
                    )),
                })
                .transpose()?,
            structure: c(self.site_structure).map(str::to_string),
        };
        let present = Present {
            address: self.address.is_some(),
            location: self.lat.is_some() || self.lon.is_some(),
            industry: self.industry.is_some(),
            dust_involved: self.dust_involved.is_some(),
            dust_types: self.dust_types.is_some(),
            workers: self.workers.is_some(),
            al_mg: self.al_mg.is_some(),
            key_supervision: self.key_supervision.is_some(),
            officer: self.officer_name.is_some(),
        };
        let enterprise = Enterprise {
            id: enterprise_id(&uscc),
            uscc,
            name: name.to_string(),
            address: c(self.address).map(str::to_string),
            village_code,
            location,
            industry: c(self.industry).map(str::to_string),
            dust_involved,
            dust_types,
            workers_per_shift: workers,
            al_mg,
            key_supervision,
            safety_officer: c(self.officer_name).map(|n| SafetyOfficer {
                name: n.to_string(),
                phone: c(self.officer_phone).map(str::to_string),
                confirmed_on_site: false,
            }),
            risk_report: Default::default(),
            warning_education: Default::default(),
        };
        Ok((enterprise, landlord, lease, present))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::read_table;
    use std::convert::Infallible;

    /// A register in memory: what a store must do, and no more.
    #[derive(Default)]
    struct Memory {
        villages: Vec<DivisionCode>,
        enterprises: HashMap<Uuid, Enterprise>,
        sites: HashMap<Uuid, Site>,
        leases: HashMap<(Uuid, Uuid), Lease>,
    }

    impl EnterpriseStore for Memory {
        type Error = Infallible;
        fn division_level(
            &mut self,
            code: &DivisionCode,
        ) -> Result<Option<DivisionLevel>, Infallible> {
            Ok(self
                .villages
                .contains(code)
                .then_some(DivisionLevel::Village))
        }
        fn enterprise(&mut self, id: &Uuid) -> Result<Option<Enterprise>, Infallible> {
            Ok(self.enterprises.get(id).cloned())
        }
        fn write_enterprise(
            &mut self,
            e: &Enterprise,
            existing: Option<&Enterprise>,
        ) -> Result<Change, Infallible> {
            self.enterprises.insert(e.id, e.clone());
            Ok(match existing {
                None => Change::Inserted,
                Some(old) if old == e => Change::Unchanged,
                Some(_) => Change::Updated,
            })
        }
        fn write_site(&mut self, s: &Site) -> Result<(), Infallible> {
            self.sites.insert(s.id, s.clone());
            Ok(())
        }
        fn write_lease(&mut self, l: &Lease) -> Result<Change, Infallible> {
            let old = self.leases.insert((l.site_id, l.tenant_id), l.clone());
            Ok(if old.is_some() {
                Change::Updated
            } else {
                Change::Inserted
            })
        }
    }

    const VILLAGE: &str = "320413100201";

    fn uscc(body: &str) -> String {
        Uscc::with_check_char(body)
            .expect("valid body")
            .as_str()
            .to_string()
    }

    fn import(store: &mut Memory, csv: &str) -> ImportReport {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.csv");
        std::fs::write(&path, csv).expect("write");
        let table = read_table(&path).expect("table");
        import_enterprises(&table, &path, store).expect("import")
    }

    #[test]
    fn a_tenant_before_its_landlord_gets_its_lease_and_bad_rows_are_skipped() {
        let mut store = Memory {
            villages: vec![DivisionCode::parse(VILLAGE).expect("code")],
            ..Default::default()
        };
        let (landlord, tenant) = (uscc("91320413MA1XY0001"), uscc("91320413MA1XY0002"));
        let report = import(
            &mut store,
            &format!(
                "name,uscc,village_code,landlord_uscc,lease_floors,lat,lon\n\
                 租户,{tenant},{VILLAGE},{landlord},3,,\n\
                 房东,{landlord},{VILLAGE},,,31.7,\n\
                 房东,{landlord},{VILLAGE},,,,\n\
                 外村,{},320413100299,,,,\n",
                uscc("91320413MA1XY0003")
            ),
        );
        // Row 3 is refused, so row 4 is the landlord's first: no duplicate, and the
        // tenant listed before it gets its lease.
        assert_eq!(
            (report.inserted, report.leases_written),
            (2, 1),
            "{report:?}"
        );
        let rejected: Vec<(usize, Option<&str>)> = report
            .rejected
            .iter()
            .map(|e| (e.row, e.column.as_deref()))
            .collect();
        assert_eq!(rejected, [(3, Some("lon")), (5, Some("village_code"))]);
        let report = import(
            &mut store,
            &format!(
                "name,uscc,village_code,landlord_uscc,lease_floors\n\
                 租户,{tenant},{VILLAGE},{landlord},3\n\
                 房东二,{landlord},{VILLAGE},,\n"
            ),
        );
        assert_eq!((report.unchanged, report.updated), (1, 1), "{report:?}");
        let site = &store.sites[&landlord_site_id(&Uscc::parse(&landlord).expect("uscc"))];
        assert_eq!(
            site.name, "房东二厂区",
            "named after the landlord as it is now"
        );
        assert_eq!(store.leases.len(), 1);
    }

    #[test]
    fn absent_columns_keep_the_stored_value_and_blank_cells_clear_it() {
        let mut store = Memory {
            villages: vec![DivisionCode::parse(VILLAGE).expect("code")],
            ..Default::default()
        };
        let u = uscc("91320413MA1XY0001");
        import(
            &mut store,
            &format!("name,uscc,village_code,address,industry,dust_types\n甲,{u},{VILLAGE},东路1号,木器,铝粉\n"),
        );
        let report = import(
            &mut store,
            &format!("name,uscc,village_code,industry\n甲厂,{u},{VILLAGE},\n"),
        );
        assert_eq!(report.updated, 1);
        let e = store.enterprises.values().next().expect("stored");
        assert_eq!(e.name, "甲厂");
        assert_eq!(e.address.as_deref(), Some("东路1号"));
        assert_eq!(e.industry, None);
        assert!(e.al_mg && e.dust_involved, "kept with the dust types");
    }
}
