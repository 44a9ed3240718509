//! 厂中厂 leases recorded on phones (docs/leases.md "Leases recorded on a phone"): the
//! checks of a pushed `lease` record, its projection into `phone_lease` (server
//! migration 0017), the register row of a tenant the register lacks, and the merge of
//! phone leases into the landlord's and tenant's published rows.
//!
//! The imported register row (`enterprise.body`) is never changed by a lease record, so
//! a register re-import keeps the phone's leases (they are merged again into what is
//! published) and `projections rebuild` derives the same rows. A lease the register
//! itself lists for the same site and tenant wins over the phone's.

use crate::db::Tx;
use crate::error::StoreError;
use crate::projections::Accepted;
use gridwalk_core::{DivisionCode, LeaseRecord};
use gridwalk_protocol::ProblemCode;
use serde_json::{json, Value};

/// The checks a `lease` record passes beyond the envelope's (hash, jurisdiction of the
/// landlord's village): it parses and holds together, names the envelope's enterprise
/// as its landlord, the landlord is in the server's register, and a tenant the register
/// lacks is placed inside the caller's jurisdiction.
pub(crate) fn check(
    t: &mut dyn Tx,
    payload: &str,
    envelope_uscc: Option<&str>,
    covers: &dyn Fn(&DivisionCode) -> bool,
) -> Result<Result<(), (ProblemCode, String)>, StoreError> {
    let bad = |code, detail: String| Ok(Err((code, detail)));
    let record = match serde_json::from_str::<LeaseRecord>(payload) {
        Ok(r) => r,
        Err(e) => return bad(ProblemCode::PayloadInvalid, format!("not a lease: {e}")),
    };
    if let Err(e) = record.validate() {
        return bad(ProblemCode::PayloadInvalid, e.to_string());
    }
    if envelope_uscc != Some(record.landlord_uscc.as_str()) {
        return bad(
            ProblemCode::PayloadInvalid,
            "a lease record's enterprise_uscc must be its landlord's".into(),
        );
    }
    let held = |t: &mut dyn Tx, uscc: &str| -> Result<bool, StoreError> {
        Ok(
            t.query_opt("SELECT 1 FROM enterprise WHERE uscc = $1", &[uscc.into()])?
                .is_some(),
        )
    };
    if !held(t, record.landlord_uscc.as_str())? {
        return bad(
            ProblemCode::UnknownEnterprise,
            format!(
                "the landlord {} is not in the register",
                record.landlord_uscc
            ),
        );
    }
    // The tenant inside the caller's jurisdiction: where the register holds it, else
    // where the record places it.
    let tenant_village = t
        .query_opt(
            "SELECT village_code FROM enterprise WHERE uscc = $1",
            &[record.tenant.uscc.as_str().into()],
        )?
        .map(|r| r.str(0))
        .transpose()?;
    let tenant_in = match tenant_village {
        Some(v) => DivisionCode::parse(&v).is_ok_and(|v| covers(&v)),
        None => covers(&record.tenant.village_code),
    };
    if !tenant_in {
        return bad(
            ProblemCode::ForbiddenJurisdiction,
            format!(
                "the tenant {} is outside the caller's jurisdiction",
                record.tenant.uscc
            ),
        );
    }
    // The ids name what the server already holds under them, never something else: a
    // lease id is this landlord's lease of this site to this tenant, a site id is this
    // landlord's site (a phone cannot take over another landlord's lease or site).
    let (lease_id, site_id) = (record.lease.id.to_string(), record.site.id.to_string());
    let (landlord_id, tenant_id) = (
        record.site.landlord_id.to_string(),
        record.tenant.id.to_string(),
    );
    let other_lease = t.query_opt(
        "SELECT 1 FROM lease WHERE id = $1 AND (site_id <> $2 OR landlord_id <> $3 OR tenant_id <> $4)
         UNION ALL
         SELECT 1 FROM phone_lease WHERE lease_id = $1 AND (landlord_id <> $3 OR tenant_id <> $4)",
        &[
            lease_id.clone().into(),
            site_id.clone().into(),
            landlord_id.clone().into(),
            tenant_id.into(),
        ],
    )?;
    if other_lease.is_some() {
        return bad(
            ProblemCode::PayloadInvalid,
            format!("lease {lease_id} is another landlord's, site's or tenant's lease"),
        );
    }
    let other_site = t.query_opt(
        "SELECT 1 FROM lease WHERE site_id = $1 AND landlord_id <> $2",
        &[site_id.clone().into(), landlord_id.into()],
    )?;
    if other_site.is_some() {
        return bad(
            ProblemCode::PayloadInvalid,
            format!("site {site_id} is another landlord's"),
        );
    }
    Ok(Ok(()))
}

/// Projects an accepted `lease` record: the lease into `phone_lease` (a later record of
/// the same lease replaces it), a register row for a tenant the register lacks (marked
/// `registered_on_site`; an import later overwrites it, never deletes it), then the
/// landlord's leases are indexed for the ledger and, when `r.publish`, both parties'
/// rows are published again.
pub(crate) fn project(t: &mut dyn Tx, r: &Accepted) -> Result<(), StoreError> {
    let Ok(record) = serde_json::from_str::<LeaseRecord>(r.payload) else {
        tracing::warn!(
            record = r.id,
            "a lease record does not parse; not projected"
        );
        return Ok(());
    };
    t.exec(
        "INSERT INTO phone_lease (lease_id, record_id, landlord_id, landlord_uscc, tenant_id, tenant_uscc, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (lease_id) DO UPDATE SET record_id = excluded.record_id,
             landlord_id = excluded.landlord_id, landlord_uscc = excluded.landlord_uscc,
             tenant_id = excluded.tenant_id, tenant_uscc = excluded.tenant_uscc,
             body = excluded.body",
        &[
            record.lease.id.to_string().into(),
            r.id.into(),
            record.site.landlord_id.to_string().into(),
            record.landlord_uscc.as_str().into(),
            record.tenant.id.to_string().into(),
            record.tenant.uscc.as_str().into(),
            r.payload.into(),
        ],
    )?;
    let tenant = &record.tenant;
    register_on_site(
        t,
        &OnSite {
            id: &tenant.id.to_string(),
            uscc: tenant.uscc.as_str(),
            name: &tenant.name,
            village_code: tenant.village_code.as_str(),
            industry: tenant.industry.as_deref(),
            address: None,
            tenant: true,
        },
    )?;
    // The ledger's index of the landlord's leases, with this one merged in.
    if let Some(row) = t.query_opt(
        "SELECT body FROM enterprise WHERE uscc = $1",
        &[record.landlord_uscc.as_str().into()],
    )? {
        let register: Value =
            serde_json::from_str(&row.str(0)?).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let effective = crate::facts::effective_body(t, record.landlord_uscc.as_str(), &register)?;
        crate::lease_ledger::index_landlord(t, &record.site.landlord_id, &effective)?;
    }
    if r.publish {
        crate::facts::republish(t, r.pg, record.landlord_uscc.as_str())?;
        crate::facts::republish(t, r.pg, record.tenant.uscc.as_str())?;
    }
    Ok(())
}

/// An enterprise a phone registered on site (a lease's new tenant, a confirmed 疑似
/// unit): what the register row says of it.
pub(crate) struct OnSite<'a> {
    pub id: &'a str,
    pub uscc: &'a str,
    pub name: &'a str,
    pub village_code: &'a str,
    pub industry: Option<&'a str>,
    pub address: Option<&'a str>,
    /// Registered as a tenant (the coverage's tenant flag).
    pub tenant: bool,
}

/// Writes the register row of an enterprise a phone registered on site (marked
/// `registered_on_site`), unless the register holds its USCC already: an import later
/// overwrites it, never deletes it.
pub(crate) fn register_on_site(t: &mut dyn Tx, e: &OnSite) -> Result<(), StoreError> {
    let body = json!({
        "id": e.id, "uscc": e.uscc, "name": e.name, "address": e.address,
        "village_code": e.village_code, "location": null, "industry": e.industry,
        "dust_involved": false, "dust_types": [], "workers_per_shift": null,
        "al_mg": false, "key_supervision": false, "safety_officer": null,
        "risk_report": "unknown", "warning_education": "unknown",
        "village_name": null, "town_name": null,
        "sites_as_landlord": [], "leases_as_tenant": [], "registered_on_site": true,
    });
    let text = serde_json::to_string(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    t.exec(
        "INSERT INTO enterprise (id, uscc, village_code, body, name, dust_involved, al_mg, workers_per_shift, tenant)
         VALUES ($1, $2, $3, $4, $5, 0, 0, NULL, $6)
         ON CONFLICT DO NOTHING",
        &[
            e.id.into(),
            e.uscc.into(),
            e.village_code.into(),
            text.into(),
            e.name.into(),
            i64::from(e.tenant).into(),
        ],
    )?;
    Ok(())
}

/// The USCCs of every party of a phone lease (a rebuild publishes their rows again).
pub(crate) fn parties(t: &mut dyn Tx) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for row in t.query(
        "SELECT landlord_uscc FROM phone_lease UNION SELECT tenant_uscc FROM phone_lease",
        &[],
    )? {
        out.push(row.str(0)?);
    }
    Ok(out)
}

/// A lease as the device's `TenantLease` shows it: with the tenant's name and USCC and
/// the site's and landlord's names.
fn named(
    mut lease: Value,
    [tenant_name, tenant_uscc, site_name, landlord_name]: [String; 4],
) -> Value {
    if let Some(o) = lease.as_object_mut() {
        o.insert("tenant_name".into(), tenant_name.into());
        o.insert("tenant_uscc".into(), tenant_uscc.into());
        o.insert("site_name".into(), site_name.into());
        o.insert("landlord_name".into(), landlord_name.into());
    }
    lease
}

fn array<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    let o = v.as_object_mut()?;
    o.entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
}

/// Merges the phone leases of the enterprise `uscc` into its row `body` (the device's
/// `EnterpriseDetail`): as landlord, each lease under its site (the site added when the
/// register lacks it); as tenant, each lease in `leases_as_tenant`. A lease the
/// register lists for the same site and tenant is left as the register says.
pub(crate) fn merge(t: &mut dyn Tx, uscc: &str, body: &mut Value) -> Result<(), StoreError> {
    let rows = t.query(
        "SELECT p.body, p.landlord_uscc, ll.name, tn.name FROM phone_lease p
         LEFT JOIN enterprise ll ON ll.uscc = p.landlord_uscc
         LEFT JOIN enterprise tn ON tn.uscc = p.tenant_uscc
         WHERE p.landlord_uscc = $1 OR p.tenant_uscc = $1 ORDER BY p.lease_id",
        &[uscc.into()],
    )?;
    for row in &rows {
        let Ok(record) = serde_json::from_str::<LeaseRecord>(&row.str(0)?) else {
            continue;
        };
        let as_landlord = row.str(1)? == uscc;
        let landlord_name = row.text(2)?.unwrap_or_default();
        let tenant_name = row.text(3)?.unwrap_or_else(|| record.tenant.name.clone());
        let lease =
            serde_json::to_value(&record.lease).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let same = |l: &Value, key: &str, id: &str| l.get(key).and_then(Value::as_str) == Some(id);
        if as_landlord {
            let Some(sites) = array(body, "sites_as_landlord") else {
                continue;
            };
            let site_id = record.site.id.to_string();
            let index = match sites.iter().position(|s| same(s, "id", &site_id)) {
                Some(i) => i,
                None => {
                    let mut site = serde_json::to_value(&record.site)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if let Some(o) = site.as_object_mut() {
                        o.insert("leases".into(), json!([]));
                    }
                    sites.push(site);
                    sites.len() - 1
                }
            };
            let site_name = sites[index]
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&record.site.name)
                .to_string();
            let Some(leases) = array(&mut sites[index], "leases") else {
                continue;
            };
            let tenant_id = record.tenant.id.to_string();
            if leases.iter().any(|l| same(l, "tenant_id", &tenant_id)) {
                continue;
            }
            leases.push(named(
                lease,
                [
                    tenant_name,
                    record.tenant.uscc.to_string(),
                    site_name,
                    landlord_name,
                ],
            ));
        } else {
            let Some(leases) = array(body, "leases_as_tenant") else {
                continue;
            };
            let site_id = record.site.id.to_string();
            if leases.iter().any(|l| same(l, "site_id", &site_id)) {
                continue;
            }
            leases.push(named(
                lease,
                [
                    tenant_name,
                    record.tenant.uscc.to_string(),
                    record.site.name.clone(),
                    landlord_name,
                ],
            ));
        }
    }
    Ok(())
}
