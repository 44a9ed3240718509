//! The append-only, hash-chained audit log (docs/security.md "Audit log").
//!
//! Every officer and admin action appends one entry: who (`actor`, `actor_role`), when
//! (`at`, UTC), from where (`source`: the remote IP of an HTTP request, `cli` for a
//! command), what (`action`, a stable dotted code such as `hazard.event`), to what
//! (`target_kind`, `target_id`) and how (`detail`: the before/after of a change, the
//! filter of an export). Entries are numbered `seq` = 1, 2, 3, … without gaps, and each
//! carries the SHA-256 of its canonical encoding ([`entry_hash`]), which includes the
//! previous entry's hash: a changed, removed or inserted entry breaks the chain at that
//! point, and [`Store::audit_verify`] names it.
//!
//! The database refuses UPDATE and DELETE on `audit_log` (triggers, migration 0019).
//! [`append`] runs inside the transaction of the action it records, so the action and
//! its entry commit or roll back together; it takes the last entry under a lock
//! (PostgreSQL: a transaction-scoped advisory lock; SQLite has one writer at a time), so
//! two entries never share a `prev_hash`.

use crate::db::{Dialect, Row, Tx, Val};
use crate::error::StoreError;
use crate::store::{now, problem, ts, Store};
use crate::work::Actor;
use chrono::{DateTime, NaiveDate, Utc};
use gridwalk_core::{DivisionCode, DivisionLevel};
use gridwalk_protocol::{sha256_hex, ProblemCode, Role};
use serde::{Deserialize, Serialize};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The first element of every entry's canonical encoding: names the encoding's version.
pub const ENCODING_TAG: &str = "gridwalk-audit-v1";

/// The PostgreSQL advisory lock key that serialises appends across connections and
/// processes (held until the appending transaction ends).
pub const PG_APPEND_LOCK: i64 = 7_262_019;

/// Most entries one list request answers.
pub const MAX_LIST_LIMIT: u32 = 500;

/// Longest user name kept in a `login.failed` entry (longer ones are cut).
const MAX_LOGGED_NAME_CHARS: usize = 64;

/// An entry to append: everything but its number, time and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub actor: String,
    pub actor_role: String,
    pub source: String,
    pub action: String,
    /// The actor's jurisdiction (`None`: the operator, an unknown user). Decides who may
    /// read the entry (a district officer reads the entries of their district).
    pub division: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub detail: serde_json::Value,
}

impl NewEntry {
    /// An entry of `action` taken by `actor` (the operator is `cli:<os user>`).
    pub fn by(actor: &Actor, action: &str) -> NewEntry {
        NewEntry {
            actor: match actor.scope {
                Some(_) => actor.user_name.clone(),
                None => cli_actor(),
            },
            actor_role: actor.role.as_str().to_string(),
            source: actor.source.clone(),
            action: action.to_string(),
            division: actor.scope.as_ref().map(|d| d.as_str().to_string()),
            target_kind: None,
            target_id: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    /// An entry of `action` taken at the server's command line by the operator.
    pub fn cli(action: &str) -> NewEntry {
        NewEntry::by(&Actor::operator(), action)
    }

    /// A sign-in attempt for `user_name` that failed (`login.failed`, `login.locked`):
    /// the name as typed (cut to 64 characters), never the password.
    pub fn anonymous(user_name: &str, source: &str, action: &str) -> NewEntry {
        NewEntry {
            actor: user_name.chars().take(MAX_LOGGED_NAME_CHARS).collect(),
            actor_role: "anonymous".into(),
            source: source.to_string(),
            action: action.to_string(),
            division: None,
            target_kind: None,
            target_id: None,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    /// The same entry aimed at `kind` `id`.
    pub fn target(mut self, kind: &str, id: impl std::fmt::Display) -> NewEntry {
        self.target_kind = Some(kind.to_string());
        self.target_id = Some(id.to_string());
        self
    }

    /// The same entry filed under `division` (an admin command's: the jurisdiction of
    /// the user or campaign it changes), which decides who may read it.
    pub fn in_division(mut self, division: Option<&DivisionCode>) -> NewEntry {
        self.division = division.map(|d| d.as_str().to_string());
        self
    }

    /// The same entry with this detail (a JSON object).
    pub fn detail(mut self, detail: serde_json::Value) -> NewEntry {
        self.detail = detail;
        self
    }
}

/// `cli:<os user>`: the actor of a `gridwalk-server` command run without `--as` (the
/// login name from `$USER` or `$LOGNAME`; `cli:unknown` when neither is set).
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    format!("cli:{}", user.trim())
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// UTC, RFC 3339 with microseconds.
    pub at: String,
    pub actor: String,
    pub actor_role: String,
    /// The remote IP of the request, or `cli`.
    pub source: String,
    pub action: String,
    pub division: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// The detail as stored (JSON text; hashed as it is).
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry's content gives (equal to `hash` unless it was changed).
    pub fn computed_hash(&self) -> String {
        entry_hash(self)
    }
}

/// The canonical encoding of an entry: the compact JSON array (serde_json: no spaces,
/// non-ASCII as UTF-8, `"` `\` and control characters escaped, `\u00xx` in lower-case
/// hex) of `["gridwalk-audit-v1", seq, at, actor, actor_role, source, action, division,
/// target_kind, target_id, detail, prev_hash]`, where `seq` is a number, absent values
/// are `null` and `detail` is the stored JSON text as one string. Python's
/// `json.dumps(a, ensure_ascii=False, separators=(",", ":"))` gives the same bytes.
pub fn canonical_encoding(e: &AuditEntry) -> String {
    serde_json::json!([
        ENCODING_TAG,
        e.seq,
        e.at,
        e.actor,
        e.actor_role,
        e.source,
        e.action,
        e.division,
        e.target_kind,
        e.target_id,
        e.detail,
        e.prev_hash,
    ])
    .to_string()
}

/// SHA-256 (lower-case hex) of [`canonical_encoding`].
pub fn entry_hash(e: &AuditEntry) -> String {
    sha256_hex(canonical_encoding(e).as_bytes())
}

const COLUMNS: &str = "seq, at, actor, actor_role, source, action, division, target_kind, \
                       target_id, detail, prev_hash, hash";

fn entry_of(r: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        at: r.str(1)?,
        actor: r.str(2)?,
        actor_role: r.str(3)?,
        source: r.str(4)?,
        action: r.str(5)?,
        division: r.text(6)?,
        target_kind: r.text(7)?,
        target_id: r.text(8)?,
        detail: r.str(9)?,
        prev_hash: r.str(10)?,
        hash: r.str(11)?,
    })
}

/// Appends `entry` inside the caller's transaction `t` (the action's own, so both
/// commit or roll back together) and returns it as stored. Appends are serialised: on
/// PostgreSQL by [`PG_APPEND_LOCK`], held until `t` ends; SQLite's write transactions
/// exclude each other already.
pub fn append(
    t: &mut dyn Tx,
    dialect: Dialect,
    entry: &NewEntry,
) -> Result<AuditEntry, StoreError> {
    if dialect == Dialect::Postgres {
        t.exec(
            "SELECT pg_advisory_xact_lock($1)",
            &[Val::Int(PG_APPEND_LOCK)],
        )?;
    }
    let head = t.query_opt(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let (seq, prev_hash) = match head {
        Some(r) => (r.int(0)? + 1, r.str(1)?),
        None => (1, GENESIS_HASH.to_string()),
    };
    let detail = serde_json::to_string(&entry.detail)
        .map_err(|e| StoreError::Corrupt(format!("audit detail: {e}")))?;
    let mut stored = AuditEntry {
        seq,
        at: ts(now()),
        actor: entry.actor.clone(),
        actor_role: entry.actor_role.clone(),
        source: entry.source.clone(),
        action: entry.action.clone(),
        division: entry.division.clone(),
        target_kind: entry.target_kind.clone(),
        target_id: entry.target_id.clone(),
        detail,
        prev_hash,
        hash: String::new(),
    };
    stored.hash = entry_hash(&stored);
    t.exec(
        &format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        &[
            Val::Int(stored.seq),
            stored.at.clone().into(),
            stored.actor.clone().into(),
            stored.actor_role.clone().into(),
            stored.source.clone().into(),
            stored.action.clone().into(),
            stored.division.clone().into(),
            stored.target_kind.clone().into(),
            stored.target_id.clone().into(),
            stored.detail.clone().into(),
            stored.prev_hash.clone().into(),
            stored.hash.clone().into(),
        ],
    )?;
    Ok(stored)
}

/// What [`Store::audit_verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Entries in the log.
    pub entries: u64,
    /// True when every entry holds its hash and names the one before it.
    pub valid: bool,
    /// The `seq` of the first entry that breaks the chain.
    pub first_bad: Option<i64>,
    /// Why it breaks the chain.
    pub reason: Option<String>,
    /// The last entry's `seq` and `hash` (note them elsewhere: entries removed from the
    /// end leave a valid, shorter chain, which only a noted head reveals).
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
}

/// Walks a chain in `seq` order: the first entry that breaks it, and why. Pure, so the
/// rules are tested without a database.
#[derive(Debug, Default)]
pub struct ChainWalker {
    entries: u64,
    last: Option<(i64, String)>,
    first_bad: Option<(i64, String)>,
}

impl ChainWalker {
    /// Checks the next entry (in `seq` order); after the first break, only counts.
    pub fn check(&mut self, e: &AuditEntry) {
        self.entries += 1;
        if self.first_bad.is_none() {
            let (want_seq, want_prev) = match &self.last {
                Some((seq, hash)) => (seq + 1, hash.as_str()),
                None => (1, GENESIS_HASH),
            };
            let why = if e.seq != want_seq {
                Some(match &self.last {
                    Some((seq, _)) => format!(
                        "entry {} follows entry {seq}: entries {want_seq}..{} are missing",
                        e.seq,
                        e.seq - 1
                    ),
                    None => format!("the log starts at entry {}, not 1", e.seq),
                })
            } else if e.prev_hash != want_prev {
                Some(format!(
                    "its prev_hash is not the hash of entry {} (an entry was replaced or inserted)",
                    e.seq - 1
                ))
            } else if entry_hash(e) != e.hash {
                Some(
                    "its content does not give its hash (the entry was changed after it was written)"
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(why) = why {
                self.first_bad = Some((e.seq, why));
            }
        }
        self.last = Some((e.seq, e.hash.clone()));
    }

    /// The report of what was checked.
    pub fn report(self) -> VerifyReport {
        let valid = self.first_bad.is_none();
        let (first_bad, reason) = match self.first_bad {
            Some((seq, why)) => (Some(seq), Some(why)),
            None => (None, None),
        };
        VerifyReport {
            entries: self.entries,
            valid,
            first_bad,
            reason,
            head_seq: self.last.as_ref().map(|l| l.0),
            head_hash: self.last.map(|l| l.1),
        }
    }
}

/// Filters of [`Store::audit_list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this action, or every action under a prefix ending in `.` or `.*`
    /// (`login.*`: `login.ok`, `login.failed`, …).
    pub action: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Only entries filed under this division (an officer's or admin's view, see
    /// [`reader_scope`]); `None`: every entry (the operator's command line).
    pub within: Option<DivisionCode>,
    /// With `within`: also the entries filed under no division (server-wide: register
    /// imports, new epochs, sign-ins failed for names nobody has).
    pub unscoped: bool,
    /// Newest first; only entries with `seq` below this (the previous page's last).
    pub after: Option<i64>,
    /// 1–500 (default 100).
    pub limit: Option<u32>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next (older) page; `None` when this page is the last.
    pub next_after: Option<i64>,
}

/// Parses a `from`/`to` bound: RFC 3339, or a date (`2026-12-07`, China time: `from`
/// takes the day's start, `to` the next day's start, so the whole day is included).
pub fn parse_bound(s: &str, end: bool) -> Result<DateTime<Utc>, StoreError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        problem(
            ProblemCode::MalformedBody,
            format!("bad query: '{s}' is neither a date (YYYY-MM-DD) nor an RFC 3339 time"),
        )
    })?;
    let d = if end { d.succ_opt().unwrap_or(d) } else { d };
    let china = chrono::FixedOffset::east_opt(8 * 3600)
        .ok_or_else(|| StoreError::Corrupt("UTC+8 offset".into()))?;
    d.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(china).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| problem(ProblemCode::MalformedBody, format!("bad query: date {s}")))
}

/// What a reader of the log sees: the entries filed under this division, and, when
/// `unscoped`, the server-wide ones filed under none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderScope {
    pub within: DivisionCode,
    pub unscoped: bool,
}

/// Who may read the audit log: administrators and district officers, each the entries
/// filed under their jurisdiction (an entry is filed under its actor's jurisdiction, or
/// for an admin command the jurisdiction of what it changes); a district's
/// administrators also the server-wide entries. Anyone else `403 forbidden_role`.
pub fn reader_scope(role: Role, jurisdiction: &DivisionCode) -> Result<ReaderScope, StoreError> {
    let district = jurisdiction.level() == DivisionLevel::District;
    match role {
        Role::Admin => Ok(ReaderScope {
            within: jurisdiction.clone(),
            unscoped: district,
        }),
        Role::Officer if district => Ok(ReaderScope {
            within: jurisdiction.clone(),
            unscoped: false,
        }),
        _ => Err(problem(
            ProblemCode::ForbiddenRole,
            "the audit log is read by administrators and district officers",
        )),
    }
}

impl Store {
    /// Appends one entry in a transaction of its own: for actions that write nothing
    /// else (an export, a print, a sign-in's outcome) and for the admin commands, which
    /// log right after the change they made.
    pub fn audit_append(&self, entry: &NewEntry) -> Result<AuditEntry, StoreError> {
        let dialect = self.dialect();
        self.tx(|t| append(t, dialect, entry))
    }

    /// Walks the whole chain in one transaction (rows streamed, one held at a time).
    pub fn audit_verify(&self) -> Result<VerifyReport, StoreError> {
        let mut walker = ChainWalker::default();
        self.tx(|t| {
            walker = ChainWalker::default();
            t.query_each(
                &format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"),
                &[],
                &mut |r| {
                    walker.check(&entry_of(&r)?);
                    Ok(())
                },
            )
        })?;
        Ok(walker.report())
    }

    /// A page of the log, newest first.
    pub fn audit_list(&self, f: &AuditFilter) -> Result<AuditPage, StoreError> {
        let limit = f.limit.unwrap_or(100);
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(problem(
                ProblemCode::MalformedBody,
                format!("bad query: limit {limit}: between 1 and {MAX_LIST_LIMIT}"),
            ));
        }
        let actor = f.actor.as_deref().map(str::trim).unwrap_or("");
        let action = f.action.as_deref().map(str::trim).unwrap_or("");
        // `login.*` and `login.` are prefixes; anything else is matched exactly.
        let (exact, prefix) = match action.strip_suffix('*') {
            Some(p) => ("", p),
            None if action.ends_with('.') => ("", action),
            None => (action, ""),
        };
        let within = f
            .within
            .as_ref()
            .map(|d| d.significant_prefix().to_string())
            .unwrap_or_default();
        let rows = self.tx(|t| {
            t.query(
                &format!(
                    "SELECT {COLUMNS} FROM audit_log
                     WHERE ($1 = '' OR actor = $1)
                       AND ($2 = '' OR action = $2)
                       AND ($3 = '' OR substr(action, 1, $4) = $3)
                       AND ($5 = '' OR at >= $5)
                       AND ($6 = '' OR at < $6)
                       AND ($7 = '' OR substr(coalesce(division, ''), 1, $8) = $7
                            OR ($11 = 1 AND division IS NULL))
                       AND seq < $9
                     ORDER BY seq DESC LIMIT $10"
                ),
                &[
                    actor.into(),
                    exact.into(),
                    prefix.into(),
                    Val::Int(prefix.chars().count() as i64),
                    f.from.map(ts).unwrap_or_default().into(),
                    f.to.map(ts).unwrap_or_default().into(),
                    within.clone().into(),
                    Val::Int(within.chars().count() as i64),
                    Val::Int(f.after.unwrap_or(i64::MAX)),
                    Val::Int(i64::from(limit) + 1),
                    Val::Int(i64::from(f.unscoped)),
                ],
            )
            .map_err(StoreError::from)
        })?;
        let more = rows.len() > limit as usize;
        let entries = rows
            .iter()
            .take(limit as usize)
            .map(entry_of)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if more {
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, prev: &str, detail: &str) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            at: "2026-12-07T08:00:00.000000Z".into(),
            actor: "zhao".into(),
            actor_role: "officer".into(),
            source: "10.0.0.7".into(),
            action: "hazard.event".into(),
            division: Some("320413000000".into()),
            target_kind: Some("hazard".into()),
            target_id: Some("0193a1b2-0000-7000-8000-000000000001".into()),
            detail: detail.into(),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        e.hash = entry_hash(&e);
        e
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_string(), |e| e.hash.clone());
            out.push(entry(
                seq,
                &prev,
                &format!(r#"{{"n":{seq},"说明":"延期"}}"#),
            ));
        }
        out
    }

    fn walk(entries: &[AuditEntry]) -> VerifyReport {
        let mut w = ChainWalker::default();
        for e in entries {
            w.check(e);
        }
        w.report()
    }

    #[test]
    fn the_encoding_is_a_compact_json_array_with_every_field_in_order() {
        let mut e = entry(3, GENESIS_HASH, r#"{"a":"b\"c"}"#);
        e.target_kind = None;
        assert_eq!(
            canonical_encoding(&e),
            format!(
                r#"["gridwalk-audit-v1",3,"2026-12-07T08:00:00.000000Z","zhao","officer","10.0.0.7","hazard.event","320413000000",null,"0193a1b2-0000-7000-8000-000000000001","{{\"a\":\"b\\\"c\"}}","{GENESIS_HASH}"]"#
            )
        );
        // Non-ASCII stays UTF-8; a control character is escaped in lower-case hex.
        e.actor = "王\u{1}".into();
        assert!(canonical_encoding(&e).contains("\"王\\u0001\""));
    }

    #[test]
    fn the_hash_is_pinned_so_other_tools_can_recompute_it() {
        let e = entry(1, GENESIS_HASH, "{}");
        assert_eq!(e.hash, sha256_hex(canonical_encoding(&e).as_bytes()));
        // Pinned (Python's json.dumps of the same array gives it too): changing the
        // encoding breaks every stored chain.
        assert_eq!(
            e.hash,
            "552fda528707518e7ed9461d2535d0bfd4b9d54f356fb738c7cd4bd9a6e05172"
        );
    }

    #[test]
    fn an_intact_chain_is_valid_and_reports_its_head() {
        let c = chain(5);
        let r = walk(&c);
        assert!(r.valid, "{r:?}");
        assert_eq!(r.entries, 5);
        assert_eq!(r.head_seq, Some(5));
        assert_eq!(r.head_hash.as_deref(), Some(c[4].hash.as_str()));
        assert!(walk(&[]).valid);
    }

    #[test]
    fn a_changed_detail_is_named_by_its_seq() {
        let mut c = chain(5);
        c[2].detail = r#"{"n":3,"说明":"未延期"}"#.into();
        let r = walk(&c);
        assert!(!r.valid);
        assert_eq!(r.first_bad, Some(3));
        assert!(r.reason.clone().unwrap_or_default().contains("changed"));
        assert_eq!(r.entries, 5);
    }

    #[test]
    fn a_rehashed_change_breaks_the_next_link() {
        let mut c = chain(5);
        c[1].actor = "someone-else".into();
        c[1].hash = entry_hash(&c[1]);
        let r = walk(&c);
        assert_eq!(r.first_bad, Some(3), "{r:?}");
        assert!(r.reason.clone().unwrap_or_default().contains("prev_hash"));
    }

    #[test]
    fn a_removed_entry_is_a_gap() {
        let mut c = chain(5);
        c.remove(1);
        let r = walk(&c);
        assert_eq!(r.first_bad, Some(3));
        assert!(
            r.reason.clone().unwrap_or_default().contains("missing"),
            "{r:?}"
        );
        let r = walk(&chain(3)[1..]);
        assert_eq!(r.first_bad, Some(2));
    }

    #[test]
    fn every_field_is_under_the_hash() {
        let base = entry(1, GENESIS_HASH, "{}");
        let changes: [fn(&mut AuditEntry); 11] = [
            |e| e.seq = 2,
            |e| e.at = "2026-12-07T08:00:00.000001Z".into(),
            |e| e.actor = "qian".into(),
            |e| e.actor_role = "admin".into(),
            |e| e.source = "10.0.0.8".into(),
            |e| e.action = "hazard.event2".into(),
            |e| e.division = None,
            |e| e.target_kind = Some("tip".into()),
            |e| e.target_id = None,
            |e| e.detail = "{ }".into(),
            |e| e.prev_hash = "1".repeat(64),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut e = base.clone();
            change(&mut e);
            assert_ne!(entry_hash(&e), base.hash, "field {i}");
        }
    }

    #[test]
    fn bounds_take_dates_in_china_time_or_instants() {
        let from = parse_bound("2026-12-07", false).expect("date");
        assert_eq!(ts(from), "2026-12-06T16:00:00.000000Z");
        let to = parse_bound("2026-12-07", true).expect("date");
        assert_eq!(ts(to), "2026-12-07T16:00:00.000000Z");
        let t = parse_bound("2026-12-07T01:02:03Z", false).expect("instant");
        assert_eq!(ts(t), "2026-12-07T01:02:03.000000Z");
        assert!(parse_bound("yesterday", false).is_err());
    }

    #[test]
    fn only_admins_and_district_officers_read_the_log() {
        let district = DivisionCode::parse("320413000000").expect("code");
        let town = DivisionCode::parse("320413100000").expect("code");
        let scope = |within: &DivisionCode, unscoped| {
            Some(ReaderScope {
                within: within.clone(),
                unscoped,
            })
        };
        assert_eq!(
            reader_scope(Role::Admin, &district).ok(),
            scope(&district, true)
        );
        assert_eq!(reader_scope(Role::Admin, &town).ok(), scope(&town, false));
        assert_eq!(
            reader_scope(Role::Officer, &district).ok(),
            scope(&district, false)
        );
        assert!(reader_scope(Role::Officer, &town).is_err());
        assert!(reader_scope(Role::GridWorker, &district).is_err());
        assert!(reader_scope(Role::Expert, &district).is_err());
    }
}
