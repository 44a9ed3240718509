//! Reading and writing the enterprise register: divisions, enterprises, sites, leases.

use crate::error::StoreError;
use crate::store::Store;
use chrono::{NaiveDate, Utc};
use gridwalk_checklist::pre_lease::PreLeaseStatus;
use gridwalk_core::division::Division;
use gridwalk_core::enterprise::{
    Enterprise, LatLon, Lease, RiskReportStatus, SafetyOfficer, Site, TrainingStatus,
};
use gridwalk_core::pinyin_keys::pinyin_keys;
use gridwalk_core::{DivisionCode, DivisionLevel, DustType, Uscc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use uuid::Uuid;

/// What an upsert did (the register crate's, shared with the server).
pub use gridwalk_register::Change;

/// An enterprise with everything an inspector looks at on its page.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseDetail {
    #[serde(flatten)]
    pub enterprise: Enterprise,
    pub village_name: Option<String>,
    pub town_name: Option<String>,
    /// Sites this enterprise lets out, each with its tenants.
    pub sites_as_landlord: Vec<SiteWithLeases>,
    /// Leases this enterprise holds as a tenant (厂中厂).
    pub leases_as_tenant: Vec<TenantLease>,
    /// Registered on a phone (a tenant the register lacked when its lease was recorded).
    pub registered_on_site: bool,
    /// As a tenant: fit to lease by the shared rule over this phone's own finalized
    /// pre-lease checks and their hazards (absent from the row the server publishes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_lease: Option<PreLeaseStatus>,
}

/// A site with its leases and the tenants' names.
#[derive(Debug, Clone, Serialize)]
pub struct SiteWithLeases {
    #[serde(flatten)]
    pub site: Site,
    pub leases: Vec<TenantLease>,
}

/// A lease with the names of the parties, for display.
#[derive(Debug, Clone, Serialize)]
pub struct TenantLease {
    #[serde(flatten)]
    pub lease: Lease,
    pub tenant_name: String,
    pub tenant_uscc: String,
    pub site_name: String,
    pub landlord_name: String,
    /// The tenant's fit-to-lease status on this phone (absent from the register row the
    /// server publishes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_lease: Option<PreLeaseStatus>,
}

fn corrupt(column: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "enterprise",
        column,
        detail: detail.to_string(),
    }
}

fn parse_uuid(table: &'static str, column: &'static str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

/// Serde name of a unit enum variant (`"helped_on_site"`).
fn enum_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn enum_from_name<T: serde::de::DeserializeOwned>(
    column: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| corrupt(column, e))
}

const ENTERPRISE_COLUMNS: &str = "id, uscc, name, address, village_code, lat, lon, industry, \
    dust_involved, dust_types, workers_per_shift, al_mg, key_supervision, safety_officer_name, \
    safety_officer_phone, safety_officer_confirmed, risk_report, warning_education";

struct RawEnterprise {
    id: String,
    uscc: String,
    name: String,
    address: Option<String>,
    village_code: String,
    lat: Option<f64>,
    lon: Option<f64>,
    industry: Option<String>,
    dust_involved: bool,
    dust_types: String,
    workers_per_shift: Option<u32>,
    al_mg: bool,
    key_supervision: bool,
    officer_name: Option<String>,
    officer_phone: Option<String>,
    officer_confirmed: bool,
    risk_report: String,
    warning_education: String,
}

impl RawEnterprise {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawEnterprise {
            id: r.get(0)?,
            uscc: r.get(1)?,
            name: r.get(2)?,
            address: r.get(3)?,
            village_code: r.get(4)?,
            lat: r.get(5)?,
            lon: r.get(6)?,
            industry: r.get(7)?,
            dust_involved: r.get(8)?,
            dust_types: r.get(9)?,
            workers_per_shift: r.get(10)?,
            al_mg: r.get(11)?,
            key_supervision: r.get(12)?,
            officer_name: r.get(13)?,
            officer_phone: r.get(14)?,
            officer_confirmed: r.get(15)?,
            risk_report: r.get(16)?,
            warning_education: r.get(17)?,
        })
    }

    fn into_enterprise(self) -> Result<Enterprise, StoreError> {
        let location = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(LatLon::new(lat, lon).map_err(|e| corrupt("lat", e))?),
            _ => None,
        };
        let dust_names: Vec<String> =
            serde_json::from_str(&self.dust_types).map_err(|e| corrupt("dust_types", e))?;
        let dust_types = dust_names
            .iter()
            .map(|n| DustType::parse(n).map_err(|e| corrupt("dust_types", e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Enterprise {
            id: parse_uuid("enterprise", "id", &self.id)?,
            uscc: Uscc::parse(&self.uscc).map_err(|e| corrupt("uscc", e))?,
            name: self.name,
            address: self.address,
            village_code: DivisionCode::parse(&self.village_code)
                .map_err(|e| corrupt("village_code", e))?,
            location,
            industry: self.industry,
            dust_involved: self.dust_involved,
            dust_types,
            workers_per_shift: self.workers_per_shift,
            al_mg: self.al_mg,
            key_supervision: self.key_supervision,
            safety_officer: self.officer_name.map(|name| SafetyOfficer {
                name,
                phone: self.officer_phone,
                confirmed_on_site: self.officer_confirmed,
            }),
            risk_report: enum_from_name::<RiskReportStatus>("risk_report", &self.risk_report)?,
            warning_education: enum_from_name::<TrainingStatus>(
                "warning_education",
                &self.warning_education,
            )?,
        })
    }
}

/// Reads one enterprise by id.
pub(crate) fn get_enterprise(
    conn: &Connection,
    id: &Uuid,
) -> Result<Option<Enterprise>, StoreError> {
    let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprise WHERE id = ?1");
    let raw = conn
        .query_row(&sql, [id.to_string()], RawEnterprise::from_row)
        .optional()?;
    raw.map(RawEnterprise::into_enterprise).transpose()
}

/// Inserts or updates an enterprise (keyed by id) and its search keys.
pub(crate) fn write_enterprise(conn: &Connection, e: &Enterprise) -> Result<Change, StoreError> {
    let existing = get_enterprise(conn, &e.id)?;
    write_enterprise_over(conn, e, existing.as_ref())
}

/// Like [`write_enterprise`] when the caller has already read the stored row (`existing`).
pub(crate) fn write_enterprise_over(
    conn: &Connection,
    e: &Enterprise,
    existing: Option<&Enterprise>,
) -> Result<Change, StoreError> {
    if existing == Some(e) {
        return Ok(Change::Unchanged);
    }
    let dust_names: Vec<String> = e.dust_types.iter().map(DustType::name_zh).collect();
    let dust_json = serde_json::to_string(&dust_names).map_err(|err| corrupt("dust_types", err))?;
    let officer = e.safety_officer.as_ref();
    // A row the register writes again is the register's, no longer one a phone made.
    let reset = if has_phone_leases(conn)? {
        ", registered_on_site = 0"
    } else {
        ""
    };
    conn.execute(
        &format!("INSERT INTO enterprise (id, uscc, name, address, village_code, lat, lon, industry, \
             dust_involved, dust_types, workers_per_shift, al_mg, key_supervision, \
             safety_officer_name, safety_officer_phone, safety_officer_confirmed, risk_report, \
             warning_education, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (id) DO UPDATE SET uscc = excluded.uscc, name = excluded.name, \
             address = excluded.address, village_code = excluded.village_code, lat = excluded.lat, \
             lon = excluded.lon, industry = excluded.industry, dust_involved = excluded.dust_involved, \
             dust_types = excluded.dust_types, workers_per_shift = excluded.workers_per_shift, \
             al_mg = excluded.al_mg, key_supervision = excluded.key_supervision, \
             safety_officer_name = excluded.safety_officer_name, \
             safety_officer_phone = excluded.safety_officer_phone, \
             safety_officer_confirmed = excluded.safety_officer_confirmed, \
             risk_report = excluded.risk_report, warning_education = excluded.warning_education, \
             updated_at = excluded.updated_at{reset}"),
        params![
            e.id.to_string(),
            e.uscc.as_str(),
            e.name,
            e.address,
            e.village_code.as_str(),
            e.location.map(|l| l.lat),
            e.location.map(|l| l.lon),
            e.industry,
            e.dust_involved,
            dust_json,
            e.workers_per_shift,
            e.al_mg,
            e.key_supervision,
            officer.map(|o| o.name.as_str()),
            officer.and_then(|o| o.phone.as_deref()),
            officer.is_some_and(|o| o.confirmed_on_site),
            enum_name(&e.risk_report),
            enum_name(&e.warning_education),
            Utc::now().to_rfc3339(),
        ],
    )?;
    write_search_row(conn, e)?;
    Ok(if existing.is_some() {
        Change::Updated
    } else {
        Change::Inserted
    })
}

/// True from device schema 13 on (leases recorded on the phone); only tests hold a
/// database below it on purpose.
fn has_phone_leases(conn: &Connection) -> Result<bool, StoreError> {
    Ok(crate::migrations::current_version(conn)? >= 13)
}

fn write_search_row(conn: &Connection, e: &Enterprise) -> Result<(), StoreError> {
    crate::short_index::invalidate();
    let keys = pinyin_keys(&e.name);
    conn.execute(
        "INSERT INTO enterprise_search (enterprise_id, name, address, pinyin_full, pinyin_initials, name_chars) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (enterprise_id) DO UPDATE SET name = excluded.name, address = excluded.address, \
             pinyin_full = excluded.pinyin_full, pinyin_initials = excluded.pinyin_initials, \
             name_chars = excluded.name_chars",
        params![
            e.id.to_string(),
            e.name.to_lowercase(),
            e.address.as_deref().unwrap_or("").to_lowercase(),
            keys.full.join(" "),
            keys.initials.join(" "),
            e.name.chars().count() as i64,
        ],
    )?;
    Ok(())
}

/// Inserts or updates a division.
pub(crate) fn write_division(conn: &Connection, d: &Division) -> Result<Change, StoreError> {
    let existing: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT name, level, parent_code FROM division WHERE code = ?1",
            [d.code.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let new = (
        d.name.clone(),
        d.level.as_str().to_string(),
        d.parent_code.as_ref().map(|c| c.as_str().to_string()),
    );
    if existing.as_ref() == Some(&new) {
        return Ok(Change::Unchanged);
    }
    conn.execute(
        "INSERT INTO division (code, name, level, parent_code) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, \
             parent_code = excluded.parent_code",
        params![d.code.as_str(), new.0, new.1, new.2],
    )?;
    Ok(if existing.is_some() {
        Change::Updated
    } else {
        Change::Inserted
    })
}

/// Inserts or updates a site.
pub(crate) fn write_site(conn: &Connection, s: &Site) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO site (id, name, address, landlord_id, storeys, structure) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, \
             landlord_id = excluded.landlord_id, storeys = COALESCE(excluded.storeys, site.storeys), \
             structure = COALESCE(excluded.structure, site.structure)",
        params![s.id.to_string(), s.name, s.address, s.landlord_id.to_string(), s.storeys, s.structure],
    )?;
    Ok(())
}

/// Inserts or updates a lease (one per site and tenant). Returns what changed.
pub(crate) fn write_lease(conn: &Connection, l: &Lease) -> Result<Change, StoreError> {
    let existing = leases_where(
        conn,
        "l.site_id = ?1 AND l.tenant_id = ?2",
        &[&l.site_id.to_string(), &l.tenant_id.to_string()],
    )?;
    let current = existing.first().map(|t| &t.lease);
    if let Some(cur) = current {
        let mut candidate = l.clone();
        candidate.id = cur.id;
        if &candidate == cur {
            return Ok(Change::Unchanged);
        }
    }
    let id = current.map_or(l.id, |c| c.id);
    let (id_s, site_s, tenant_s) = (
        id.to_string(),
        l.site_id.to_string(),
        l.tenant_id.to_string(),
    );
    let (start, end) = (
        l.start_date.map(|d| d.to_string()),
        l.end_date.map(|d| d.to_string()),
    );
    let params: [&dyn rusqlite::ToSql; 12] = [
        &id_s,
        &site_s,
        &tenant_s,
        &l.floors,
        &l.area_m2,
        &start,
        &end,
        &l.equipment_leased,
        &l.equipment_description,
        &l.safety_agreement_signed,
        &l.use_zh,
        &l.recorded_on_site,
    ];
    let (columns, values, updates) = if has_phone_leases(conn)? {
        (
            ", use_zh, recorded_on_site",
            ", ?11, ?12",
            ", use_zh = excluded.use_zh, recorded_on_site = excluded.recorded_on_site",
        )
    } else {
        ("", "", "")
    };
    conn.execute(
        &format!("INSERT INTO lease (id, site_id, tenant_id, floors, area_m2, start_date, end_date, \
             equipment_leased, equipment_description, safety_agreement_signed{columns}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10{values}) \
         ON CONFLICT (site_id, tenant_id) DO UPDATE SET floors = excluded.floors, \
             area_m2 = excluded.area_m2, start_date = excluded.start_date, end_date = excluded.end_date, \
             equipment_leased = excluded.equipment_leased, \
             equipment_description = excluded.equipment_description, \
             safety_agreement_signed = excluded.safety_agreement_signed{updates}"),
        &params[..if values.is_empty() { 10 } else { 12 }],
    )?;
    Ok(if current.is_some() {
        Change::Updated
    } else {
        Change::Inserted
    })
}

fn parse_date(column: &'static str, s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.map(|s| {
        s.parse::<NaiveDate>().map_err(|e| StoreError::Corrupt {
            table: "lease",
            column,
            detail: e.to_string(),
        })
    })
    .transpose()
}

fn leases_where(
    conn: &Connection,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<TenantLease>, StoreError> {
    let sql = format!(
        "SELECT l.id, l.site_id, l.tenant_id, l.floors, l.area_m2, l.start_date, l.end_date, \
             l.equipment_leased, l.equipment_description, l.safety_agreement_signed, \
             t.name, t.uscc, s.name, ll.name, {phone} \
         FROM lease l JOIN enterprise t ON t.id = l.tenant_id JOIN site s ON s.id = l.site_id \
             JOIN enterprise ll ON ll.id = s.landlord_id \
         WHERE {filter} ORDER BY t.name",
        phone = if has_phone_leases(conn)? {
            "l.use_zh, l.recorded_on_site"
        } else {
            "NULL, 0"
        }
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (id, site_id, tenant_id): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        out.push(TenantLease {
            lease: Lease {
                id: parse_uuid("lease", "id", &id)?,
                site_id: parse_uuid("lease", "site_id", &site_id)?,
                tenant_id: parse_uuid("lease", "tenant_id", &tenant_id)?,
                floors: r.get(3)?,
                area_m2: r.get(4)?,
                start_date: parse_date("start_date", r.get(5)?)?,
                end_date: parse_date("end_date", r.get(6)?)?,
                equipment_leased: r.get(7)?,
                equipment_description: r.get(8)?,
                safety_agreement_signed: r.get(9)?,
                use_zh: r.get(14)?,
                recorded_on_site: r.get(15)?,
            },
            tenant_name: r.get(10)?,
            tenant_uscc: r.get(11)?,
            site_name: r.get(12)?,
            landlord_name: r.get(13)?,
            pre_lease: None,
        });
    }
    Ok(out)
}

impl Store {
    /// Looks up an enterprise by its id (UUID) or its USCC, with the fit-to-lease
    /// status of the enterprise and of each tenant of its leases (this phone's checks).
    pub fn enterprise(&self, key: &str) -> Result<EnterpriseDetail, StoreError> {
        let mut d = self.register_entry(key)?;
        let mut memo: std::collections::HashMap<Uuid, PreLeaseStatus> = Default::default();
        let mut status = |id: Uuid| -> Result<PreLeaseStatus, StoreError> {
            if let Some(s) = memo.get(&id) {
                return Ok(s.clone());
            }
            let s = crate::inspection::status::pre_lease_of(&self.conn, &id)?;
            memo.insert(id, s.clone());
            Ok(s)
        };
        d.pre_lease = Some(status(d.enterprise.id)?);
        for l in d.leases_as_tenant.iter_mut().chain(
            d.sites_as_landlord
                .iter_mut()
                .flat_map(|s| s.leases.iter_mut()),
        ) {
            l.pre_lease = Some(status(l.lease.tenant_id)?);
        }
        Ok(d)
    }

    /// The register entry of an enterprise (id or USCC) as the server publishes it:
    /// without this phone's fit-to-lease statuses.
    pub fn register_entry(&self, key: &str) -> Result<EnterpriseDetail, StoreError> {
        let not_found = || StoreError::NotFound {
            what: "enterprise",
            key: key.to_string(),
        };
        let id = match Uuid::parse_str(key.trim()) {
            Ok(id) => id,
            Err(_) => {
                let uscc = Uscc::parse(key).map_err(|_| not_found())?;
                gridwalk_core::ids::enterprise_id(&uscc)
            }
        };
        let enterprise = get_enterprise(&self.conn, &id)?.ok_or_else(not_found)?;
        let village = self.division(enterprise.village_code.as_str())?;
        let town = match &village {
            Some(v) => match &v.parent_code {
                Some(p) => self.division(p.as_str())?,
                None => None,
            },
            None => None,
        };
        let id_s = id.to_string();
        let leases_as_tenant = leases_where(&self.conn, "l.tenant_id = ?1", &[&id_s])?;
        let mut sites_as_landlord = Vec::new();
        for site in self.sites_of_landlord(&id)? {
            let leases = leases_where(&self.conn, "l.site_id = ?1", &[&site.id.to_string()])?;
            sites_as_landlord.push(SiteWithLeases { site, leases });
        }
        let registered_on_site: bool = has_phone_leases(&self.conn)?
            && self.conn.query_row(
                "SELECT registered_on_site FROM enterprise WHERE id = ?1",
                [&id_s],
                |r| r.get(0),
            )?;
        Ok(EnterpriseDetail {
            enterprise,
            village_name: village.map(|v| v.name),
            town_name: town.map(|t| t.name),
            sites_as_landlord,
            leases_as_tenant,
            registered_on_site,
            pre_lease: None,
        })
    }

    pub(crate) fn sites_of_landlord(&self, landlord: &Uuid) -> Result<Vec<Site>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, address, landlord_id, storeys, structure FROM site WHERE landlord_id = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([landlord.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, address, landlord_id, storeys, structure) = row?;
            out.push(Site {
                id: parse_uuid("site", "id", &id)?,
                name,
                address,
                landlord_id: parse_uuid("site", "landlord_id", &landlord_id)?,
                storeys,
                structure,
            });
        }
        Ok(out)
    }

    /// A division by code, if loaded.
    pub fn division(&self, code: &str) -> Result<Option<Division>, StoreError> {
        let raw: Option<(String, String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT code, name, level, parent_code FROM division WHERE code = ?1",
                [code],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        raw.map(|(code, name, level, parent)| {
            let bad = |detail: String| StoreError::Corrupt {
                table: "division",
                column: "code",
                detail,
            };
            Ok(Division {
                code: DivisionCode::parse(&code).map_err(|e| bad(e.to_string()))?,
                name,
                level: DivisionLevel::parse(&level).map_err(|e| bad(e.to_string()))?,
                parent_code: parent
                    .map(|p| DivisionCode::parse(&p))
                    .transpose()
                    .map_err(|e| bad(e.to_string()))?,
            })
        })
        .transpose()
    }

    /// Number of enterprises in the register.
    pub fn enterprise_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM enterprise", [], |r| r.get(0))?)
    }

    /// Number of divisions loaded.
    pub fn division_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM division", [], |r| r.get(0))?)
    }

    /// Rebuilds the search index when it is out of step with the register (after the
    /// migration that created it, or if rows were written by something else).
    pub fn ensure_search_index(&self) -> Result<(), StoreError> {
        let stale: bool = self.conn.query_row(
            "SELECT (SELECT count(*) FROM enterprise) != (SELECT count(*) FROM enterprise_search)",
            [],
            |r| r.get(0),
        )?;
        if stale {
            self.rebuild_search_index()?;
        }
        Ok(())
    }

    /// Recomputes every search row (pinyin keys included) in one transaction.
    pub fn rebuild_search_index(&self) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction()?;
        tx.execute("DELETE FROM enterprise_search", [])?;
        crate::short_index::invalidate();
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprise");
        let mut stmt = tx.prepare(&sql)?;
        let raws = stmt
            .query_map([], RawEnterprise::from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        for raw in raws {
            write_search_row(&tx, &raw.into_enterprise()?)?;
        }
        tx.commit()?;
        Ok(())
    }
}
