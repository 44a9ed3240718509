//! The pull change log: publishing register rows and templates, upserting changes and
//! paging them to a device within its jurisdiction and protocol.

use super::*;

/// An enterprise's register entry as offered to devices.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEnterprise {
    pub id: Uuid,
    pub uscc: String,
    pub village: DivisionCode,
    /// The entry with its sites and leases (the device's `EnterpriseDetail`).
    pub body: serde_json::Value,
}

/// [`Store::publish_register`] inside the caller's transaction (a register import
/// merges and publishes in one).
pub(crate) fn publish_register_in(
    t: &mut dyn Tx,
    pg: bool,
    divisions: &[gridwalk_core::division::Division],
    enterprises: &[PublishedEnterprise],
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for d in divisions {
        let body = serde_json::to_value(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        t.exec(
                "INSERT INTO division (code, name, level, parent_code) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code",
                &[
                    d.code.as_str().into(),
                    d.name.clone().into(),
                    d.level.as_str().into(),
                    d.parent_code.as_ref().map(|p| p.as_str().to_string()).into(),
                ],
            )?;
        changed += usize::from(upsert_change(
            t,
            pg,
            ChangeKind::Division,
            d.code.as_str(),
            Some(d.code.as_str()),
            &body,
        )?);
    }
    for e in enterprises {
        let text =
            serde_json::to_string(&e.body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // What visits confirmed stays confirmed when the register is imported
        // again (docs/campaign.md "Enterprise facts").
        let published = crate::facts::effective_body(t, &e.uscc, &e.body)?;
        let [name, dust, al_mg, workers, tenant] = crate::coverage::register_facts(&published);
        t.exec(
                "INSERT INTO enterprise (id, uscc, village_code, body, name, dust_involved, al_mg, workers_per_shift, tenant)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET village_code = excluded.village_code, body = excluded.body,
                     name = excluded.name, dust_involved = excluded.dust_involved, al_mg = excluded.al_mg,
                     workers_per_shift = excluded.workers_per_shift, tenant = excluded.tenant",
                &[
                    e.id.to_string().into(),
                    e.uscc.clone().into(),
                    e.village.as_str().into(),
                    text.into(),
                    name,
                    dust,
                    al_mg,
                    workers,
                    tenant,
                ],
            )?;
        // Phone-recorded leases are in the published row, and so in the ledger.
        crate::lease_ledger::index_landlord(t, &e.id, &published)?;
        changed += usize::from(upsert_change(
            t,
            pg,
            ChangeKind::Enterprise,
            &e.id.to_string(),
            Some(e.village.as_str()),
            &published,
        )?);
    }
    Ok(changed)
}

/// Puts the latest version of an entity at the end of the change log (unless its body
/// is unchanged). Returns true if it changed.
pub(crate) fn upsert_change(
    t: &mut dyn Tx,
    pg: bool,
    kind: ChangeKind,
    key: &str,
    division: Option<&str>,
    body: &serde_json::Value,
) -> Result<bool, StoreError> {
    upsert_change_for(t, pg, kind, key, division, body, None)
}

/// [`upsert_change`] for one user's phones only (`recipient`), or everyone's (`None`).
pub(crate) fn upsert_change_for(
    t: &mut dyn Tx,
    pg: bool,
    kind: ChangeKind,
    key: &str,
    division: Option<&str>,
    body: &serde_json::Value,
    recipient: Option<&str>,
) -> Result<bool, StoreError> {
    let text = serde_json::to_string(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if pg {
        // Writers take turns, so change seqs commit in order and no cursor skips one.
        t.exec("LOCK TABLE change_log IN SHARE ROW EXCLUSIVE MODE", &[])?;
    }
    let old = t.query_opt(
        "SELECT body, division_code FROM change_log WHERE kind = $1 AND key = $2",
        &[kind.as_str().into(), key.into()],
    )?;
    if let Some(old) = old {
        if old.str(0)? == text && old.text(1)?.as_deref() == division {
            return Ok(false);
        }
        t.exec(
            "DELETE FROM change_log WHERE kind = $1 AND key = $2",
            &[kind.as_str().into(), key.into()],
        )?;
    }
    t.exec(
        "INSERT INTO change_log (kind, key, division_code, body, min_protocol, recipient) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            kind.as_str().into(),
            key.into(),
            division.map(str::to_string).into(),
            Val::Text(text),
            i64::from(min_protocol_of(kind, body)).into(),
            recipient.map(str::to_string).into(),
        ],
    )?;
    Ok(true)
}

/// The oldest protocol whose devices can read this change: its kind's, or 3 for a
/// hazard event of a kind protocol 3 added (`plan_set`).
fn min_protocol_of(kind: ChangeKind, body: &serde_json::Value) -> u32 {
    let event_kind = body.get("kind").and_then(|k| k.as_str());
    match (kind, event_kind) {
        (ChangeKind::HazardEvent, Some("plan_set")) => 3,
        _ => kind.min_protocol(),
    }
}

impl Store {
    /// Publishes divisions and enterprise register entries in one transaction; each
    /// changed one is offered to devices. Returns how many changed.
    pub fn publish_register(
        &self,
        divisions: &[gridwalk_core::division::Division],
        enterprises: &[PublishedEnterprise],
    ) -> Result<usize, StoreError> {
        let pg = self.dialect() == Dialect::Postgres;
        self.tx(|t| publish_register_in(t, pg, divisions, enterprises))
    }

    /// Offers the shipped checklist templates to every device (once per version).
    pub fn publish_templates(&self) -> Result<usize, StoreError> {
        let templates = gridwalk_checklist::builtin::try_builtin_templates()
            .map_err(|e| StoreError::Corrupt(format!("shipped templates: {e}")))?;
        let pg = self.dialect() == Dialect::Postgres;
        let mut changed = 0;
        for tpl in templates {
            let body =
                serde_json::to_value(&tpl).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let key = format!("{}@{}", tpl.id, tpl.version);
            if self.tx(|t| upsert_change(t, pg, ChangeKind::Template, &key, None, &body))? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// One page of changes the caller may see, after `cursor` (`{epoch}.{position}`, or a
    /// bare position from protocol 1). A cursor of another epoch, or past the end of the
    /// change log (a database restored from a backup), restarts from the beginning.
    pub fn pull(&self, caller: &Caller, cursor: &str, limit: u32) -> Result<PullPage, StoreError> {
        self.pull_for(caller, cursor, limit, PROTOCOL_VERSION)
    }

    /// [`Store::pull`] for a client speaking `protocol`: a protocol 1 app does not know
    /// campaign changes, so it is not sent them.
    pub fn pull_for(
        &self,
        caller: &Caller,
        cursor: &str,
        limit: u32,
        protocol: u32,
    ) -> Result<PullPage, StoreError> {
        let j = &caller.jurisdiction;
        let mut anc = ancestors(j);
        anc.resize(4, String::new());
        let limit = limit.clamp(1, 1000) as i64;
        let cursor = cursor.trim();
        let (cursor_epoch, position) = match cursor.split_once('.') {
            Some((e, p)) => (Some(e), p),
            None => (None, cursor),
        };
        let position = match position {
            "" => 0,
            p => p.parse::<i64>().ok().filter(|p| *p >= 0).ok_or_else(|| {
                problem(ProblemCode::MalformedBody, format!("bad cursor '{cursor}'"))
            })?,
        };
        let (epoch, rows, cursor) = self.tx(|t| {
            let epoch = epoch_of(t)?;
            let end = match t.query_opt("SELECT max(seq) FROM change_log", &[])? {
                Some(r) => r.opt_int(0)?.unwrap_or(0),
                None => 0,
            };
            let stale = cursor_epoch.is_some_and(|e| e != epoch) || position > end;
            if stale {
                tracing::info!(device = %caller.device_id, cursor, end, %epoch,
                    "pull cursor from another epoch or past the change log: restarting");
            }
            let cursor = if stale { 0 } else { position };
            let rows = t.query(
                "SELECT seq, kind, key, body FROM change_log
                 WHERE seq > $1 AND (division_code IS NULL OR division_code LIKE $2
                       OR division_code IN ($3, $4, $5, $6))
                   AND min_protocol <= $8 AND (recipient IS NULL OR recipient = $9)
                 ORDER BY seq LIMIT $7",
                &[
                    cursor.into(),
                    format!("{}%", j.significant_prefix()).into(),
                    anc[0].clone().into(),
                    anc[1].clone().into(),
                    anc[2].clone().into(),
                    anc[3].clone().into(),
                    (limit + 1).into(),
                    i64::from(protocol).into(),
                    caller.user_name.clone().into(),
                ],
            )?;
            Ok((epoch, rows, cursor))
        })?;
        let has_more = rows.len() as i64 > limit;
        let mut changes = Vec::new();
        let mut next = cursor;
        for r in rows.iter().take(limit as usize) {
            next = r.int(0)?;
            changes.push(Change {
                cursor: format!("{epoch}.{next}"),
                kind: ChangeKind::parse(&r.str(1)?)
                    .ok_or_else(|| StoreError::Corrupt("bad change kind".into()))?,
                key: r.str(2)?,
                body: serde_json::from_str(&r.str(3)?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            });
        }
        Ok(PullPage {
            changes,
            next_cursor: format!("{epoch}.{next}"),
            has_more,
        })
    }
}
