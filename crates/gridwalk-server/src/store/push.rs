//! Pushed records: the batch transaction, each record's checks (chain, payload, hazard
//! events), receipts, record status, missing photos and the reconcile of held ranges.

use super::*;

/// How far ahead of the server's clock a pushed hazard event may be dated (phone clocks
/// drift; a day covers time zones and a wrong date set by hand is refused).
pub const MAX_EVENT_AHEAD_HOURS: i64 = 24;

/// The GNSS fix time a payload's GPS stamp carries, if any.
fn gnss_time(payload: &str) -> Option<DateTime<Utc>> {
    // A key `stamp` is written `"stamp"` unless \u-escaped: without either, there is
    // none, and the payload is not read at all (an inspection carries no stamp).
    if !payload.contains("\"stamp\"") && !payload.contains("\\u") {
        return None;
    }
    // Only `stamp.fix_time` is read; the rest of the payload is skipped, not built.
    #[derive(serde::Deserialize)]
    struct Stamped {
        stamp: Option<Stamp>,
    }
    #[derive(serde::Deserialize)]
    struct Stamp {
        fix_time: Option<String>,
    }
    let t = match serde_json::from_str::<Stamped>(payload) {
        Ok(v) => v.stamp?.fix_time?,
        // A payload the typed read refuses (a duplicated key, say) is read as the
        // evidence panel reads it, the last key winning: the clock check is not skipped.
        Err(_) => serde_json::from_str::<serde_json::Value>(payload)
            .ok()?
            .get("stamp")?
            .get("fix_time")?
            .as_str()?
            .to_string(),
    };
    Some(DateTime::parse_from_rfc3339(&t).ok()?.with_timezone(&Utc))
}

/// A device's place in its sequence while a push is stored: the next sequence number
/// and the hash of the link at the position before it (`None` when that record came
/// without a link, from an app older than the anchored chain).
struct Sequence {
    next: u64,
    head: Option<String>,
    /// The device's current branch (0 until its first fork).
    branch: i64,
    /// Positions taken in this push, written to `device_seq` with the device's row.
    taken: Vec<SeqEntry>,
    /// Records this push sent again at a position other than the one this device's
    /// sequence holds them at: the receipt names the held position, and the phone
    /// adopts it (docs/sync-protocol.md "Forks").
    held_at: HashMap<Uuid, u64>,
    /// Links of this push's records refused `seq_reused` (nothing stored): a record
    /// following one of them is the same phone's next record, and must fork too.
    reused: std::collections::HashSet<String>,
    /// Enterprises whose confirmed facts this push changed (published once at its end).
    republish: std::collections::BTreeSet<String>,
    /// The latest confirmation of each fact among this push's inspections, written at
    /// its end.
    facts: std::cell::RefCell<crate::facts::PendingFacts>,
    /// What each record would look up alone, read for the whole batch at once.
    lookups: BatchLookups,
}

/// What the records of a push would each look up alone (is the id held, in which
/// village is the enterprise), read for the whole batch in a few statements: on
/// PostgreSQL every statement is a round trip.
///
/// A record id becomes held during the push only by the push's own insert, which notes
/// it here. An enterprise can be registered during the push (a lease or a suspected
/// enterprise confirmed on site) but never moves: so only registered villages are kept,
/// and an enterprise not found is asked again. On PostgreSQL another device's push
/// committing the same id between this read and this push's insert makes the insert
/// fail on the key and the push is answered an error, which the phone retries; the
/// per-record read before had the same race, over a shorter moment.
#[derive(Default)]
struct BatchLookups {
    /// Ids of the batch the server holds: before the push, and those it stored since.
    held: std::collections::HashSet<String>,
    /// The village of each registered enterprise the batch names, by normalised USCC.
    villages: HashMap<String, String>,
}

impl BatchLookups {
    fn read<'a>(
        t: &mut dyn Tx,
        records: impl Iterator<Item = &'a RecordEnvelope> + Clone,
    ) -> Result<BatchLookups, StoreError> {
        let mut ids: Vec<String> = records.clone().map(|r| r.id.to_string()).collect();
        ids.sort();
        ids.dedup();
        let held = crate::db::query_in(t, "SELECT id FROM record WHERE id", &[], &ids)?
            .iter()
            .map(|row| row.str(0))
            .collect::<Result<_, _>>()?;
        let mut usccs: Vec<String> = records
            .filter_map(|r| r.enterprise_uscc.as_deref())
            .filter_map(|u| Uscc::parse(u).ok())
            .map(|u| u.as_str().to_string())
            .collect();
        usccs.sort();
        usccs.dedup();
        let mut villages = HashMap::new();
        for row in crate::db::query_in(
            t,
            "SELECT uscc, village_code FROM enterprise WHERE uscc",
            &[],
            &usccs,
        )? {
            villages.insert(row.str(0)?, row.str(1)?);
        }
        Ok(BatchLookups { held, villages })
    }

    /// The village of the registered enterprise `uscc` (normalised), if registered.
    fn village(&self, t: &mut dyn Tx, uscc: &str) -> Result<Option<String>, StoreError> {
        if let Some(v) = self.villages.get(uscc) {
            return Ok(Some(v.clone()));
        }
        Ok(t.query_opt(
            "SELECT village_code FROM enterprise WHERE uscc = $1",
            &[uscc.into()],
        )?
        .map(|row| row.str(0))
        .transpose()?)
    }
}

/// One position of a device's sequence and what took it.
struct SeqEntry {
    seq: u64,
    record_id: String,
    payload_sha256: String,
    status: HeldStatus,
    link: Option<String>,
}

impl Sequence {
    /// The record `r` took its place (if it is the next one), with this link. A record
    /// at an earlier position (one taken before positions were kept) fills it if empty.
    fn take(&mut self, r: &RecordEnvelope, status: HeldStatus, link: Option<String>) {
        if r.seq == self.next {
            self.next += 1;
            self.head = link.clone();
        }
        self.note(r, status, link);
    }

    /// The record `r` took its place (if it is the next one) without a link that may
    /// become the head: what follows is checked against the head before it.
    fn skip(&mut self, r: &RecordEnvelope, status: HeldStatus) {
        if r.seq == self.next {
            self.next += 1;
        }
        self.note(r, status, None);
    }

    fn note(&mut self, r: &RecordEnvelope, status: HeldStatus, link: Option<String>) {
        if r.seq < self.next {
            self.taken.push(SeqEntry {
                seq: r.seq,
                record_id: r.id.to_string(),
                payload_sha256: r.payload_sha256.clone(),
                status,
                link,
            });
        }
    }
}

/// Where this device's sequence holds record `id` when not at `seq`, the position the
/// phone sent it at: the lowest other position holding it, or `None` when `seq` holds it
/// or none does.
fn held_position(
    t: &mut dyn Tx,
    device: &Uuid,
    id: &str,
    seq: u64,
) -> Result<Option<u64>, StoreError> {
    let rows = t.query(
        "SELECT seq FROM device_seq WHERE device_id = $1 AND record_id = $2 ORDER BY seq",
        &[device.to_string().into(), id.into()],
    )?;
    let mut positions = Vec::with_capacity(rows.len());
    for row in &rows {
        positions.push(row.int(0)? as u64);
    }
    Ok(match positions.first() {
        Some(_) if positions.contains(&seq) => None,
        first => first.copied(),
    })
}

/// The position of this device's sequence whose link a forking record continues: 0 for
/// a fork from the start of the chain, else the position holding `link.prev_hash`.
fn fork_point_of(
    t: &mut dyn Tx,
    device: &Uuid,
    link: &gridwalk_protocol::chain::ChainProof,
    seq: u64,
) -> Result<Option<u64>, StoreError> {
    if link.chain_seq(seq) == Some(0)
        && link.prev_hash == gridwalk_protocol::chain::GENESIS_PREV_HASH
    {
        return Ok(Some(0));
    }
    if let Some(row) = t.query_opt(
        "SELECT seq FROM device_seq WHERE device_id = $1 AND link_sha256 = $2 ORDER BY seq LIMIT 1",
        &[device.to_string().into(), link.prev_hash.clone().into()],
    )? {
        return Ok(Some(row.int(0)?.max(0) as u64));
    }
    // The link this identity's sequence started from: a phone handed to another user
    // continues the earlier user's chain, whose links are not this identity's.
    Ok(t.query_opt(
        "SELECT 1 FROM record WHERE device_id = $1 AND seq = 1 AND prev_link_sha256 = $2",
        &[device.to_string().into(), link.prev_hash.clone().into()],
    )?
    .map(|_| 0))
}

/// Why a new record's chain link does not continue the device's chain, if it does not
/// (docs/evidence.md): the link must hash to what it claims, its previous hash must be
/// the genesis hash for the first record and the head the server holds for any other
/// (unchecked only right after a record that came without a link) — else `chain_broken`;
/// and the photos and enterprise the envelope claims must be those of the frozen payload
/// — else `payload_invalid`.
fn chain_problem(
    r: &RecordEnvelope,
    verified: &Option<String>,
    head: &Option<String>,
    typed: &TypedPayload,
) -> Option<(ProblemCode, String)> {
    use gridwalk_protocol::chain::{photos_named_in, GENESIS_PREV_HASH};
    let broken = |detail: String| Some((ProblemCode::ChainBroken, detail));
    let mismatch = |detail: String| Some((ProblemCode::PayloadInvalid, detail));
    let Some(link) = r.link.as_ref() else {
        // Only an app older than the anchored chain sends no link; once a device's
        // chain is anchored, leaving the link out would switch the check off.
        return match head {
            Some(_) => broken(format!(
                "record {} (seq {}) comes without a chain link, but this device's chain is anchored",
                r.id, r.seq
            )),
            None => None,
        };
    };
    if verified.is_none() {
        return broken(format!(
            "the link of record {} (seq {}) does not hash to {}: its payload hash, \
             sequence number or device time was changed after it was chained",
            r.id, r.seq, link.hash
        ));
    }
    // The genesis hash starts a device's sequence, or a fork marked as one from the
    // start of a chain; anywhere else it would restart the chain unmarked.
    let expected = if link.chain_seq(r.seq) == Some(0) && (r.seq == 1 || r.fork) {
        Some(GENESIS_PREV_HASH.to_string())
    } else {
        head.clone()
    };
    if let Some(expected) = expected {
        if link.prev_hash != expected {
            let fork = if r.fork {
                " (it claims to fork, but the server holds no such link of this device)"
            } else {
                ""
            };
            return broken(format!(
                "the link of record {} (seq {}) follows {}, but the last link the server \
                 holds of this device is {expected}{fork}",
                r.id, r.seq, link.prev_hash
            ));
        }
    }
    let wire = match link.kind.as_str() {
        "inspection" => Some(RecordKind::Inspection),
        "hazard_event" => Some(RecordKind::HazardEvent),
        "photo" | "signature" => Some(RecordKind::Evidence),
        "lease" => Some(RecordKind::Lease),
        "suspected_confirmation" => Some(RecordKind::SuspectedConfirmation),
        _ => None,
    };
    if wire != Some(r.kind) {
        return mismatch(format!(
            "a {} link cannot carry a {} record",
            link.kind,
            r.kind.as_str()
        ));
    }
    if r.withheld {
        // No payload to compare with: the link and hash are all the server gets.
        return None;
    }
    let claimed = || {
        let mut claimed = r.photos.clone();
        claimed.sort();
        claimed.dedup();
        claimed
    };
    let uscc_differs = |payload_uscc: &str, envelope: &str| {
        if payload_uscc.eq_ignore_ascii_case(envelope.trim()) {
            return None;
        }
        mismatch(format!(
            "the envelope names enterprise {envelope}, the frozen payload {payload_uscc}"
        ))
    };
    // An inspection that parsed names the photos the JSON does (the typed list is the
    // chain check's, see projections' tests); a hash that is not hex, or JSON the
    // reading below refuses (in a field the typed payload skips), is reported below.
    if let Some(p) = typed.inspection() {
        let named = p.photo_sha256s();
        if named.iter().all(|h| is_sha256_hex(h)) && typed.is_strict_json() {
            let claimed = claimed();
            if claimed != named {
                return mismatch(format!(
                    "the envelope lists photos {claimed:?}, the frozen payload names {named:?}"
                ));
            }
            return r
                .enterprise_uscc
                .as_deref()
                .and_then(|e| uscc_differs(&p.enterprise_uscc, e));
        }
    }
    // Parsed once for both the photos and the enterprise it names.
    let payload = match serde_json::from_str::<serde_json::Value>(&r.payload) {
        Ok(v) => v,
        Err(e) => return mismatch(format!("the frozen payload is not JSON: {e}")),
    };
    let named = match photos_named_in(&link.kind, &payload) {
        Ok(p) => p,
        Err(e) => return mismatch(format!("the frozen payload: {e}")),
    };
    let claimed = claimed();
    if claimed != named {
        return mismatch(format!(
            "the envelope lists photos {claimed:?}, the frozen payload names {named:?}"
        ));
    }
    let payload_uscc = payload
        .get("enterprise_uscc")
        .and_then(|u| u.as_str())
        .map(str::to_string);
    match (payload_uscc, &r.enterprise_uscc) {
        (Some(p), Some(e)) => uscc_differs(&p, e),
        _ => None,
    }
}

/// Accepts exactly the JSON text `serde_json::Value` accepts (numbers in range, no lone
/// surrogate in a string, skipped fields included), without building anything.
struct AnyJson;

impl<'de> serde::Deserialize<'de> for AnyJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AnyJson, D::Error> {
        d.deserialize_any(AnyJson)
    }
}

impl<'de> serde::de::Visitor<'de> for AnyJson {
    type Value = AnyJson;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_none<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<AnyJson, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_key::<AnyJson>()?.is_some() {
            map.next_value::<AnyJson>()?;
        }
        Ok(AnyJson)
    }
}

/// A pushed record's payload, parsed and hashed at most once (on first use) and shared
/// by the checks and the projection. The work is pure, so a second thread may do it
/// ahead of the push transaction ([`TypedPayload::warm`]).
struct TypedPayload<'a> {
    r: &'a RecordEnvelope,
    inspection: std::sync::OnceLock<Option<gridwalk_checklist::FinalizedInspection>>,
    sha256: std::sync::OnceLock<String>,
    any_json: std::sync::OnceLock<bool>,
}

impl<'a> TypedPayload<'a> {
    fn new(r: &'a RecordEnvelope) -> TypedPayload<'a> {
        TypedPayload {
            r,
            inspection: std::sync::OnceLock::new(),
            sha256: std::sync::OnceLock::new(),
            any_json: std::sync::OnceLock::new(),
        }
    }

    /// The payload of an inspection record as a finalized inspection; `None` for other
    /// kinds, a withheld payload, or one that does not parse as one.
    fn inspection(&self) -> Option<&gridwalk_checklist::FinalizedInspection> {
        if self.r.kind != RecordKind::Inspection || self.r.withheld {
            return None;
        }
        self.inspection
            .get_or_init(|| serde_json::from_str(&self.r.payload).ok())
            .as_ref()
    }

    /// The payload's SHA-256 (hex).
    fn sha256(&self) -> &str {
        self.sha256
            .get_or_init(|| sha256_hex(self.r.payload.as_bytes()))
    }

    /// Whether the payload is JSON the strict reading ([`AnyJson`]) takes.
    fn is_strict_json(&self) -> bool {
        *self
            .any_json
            .get_or_init(|| serde_json::from_str::<AnyJson>(&self.r.payload).is_ok())
    }

    /// Does now what the push transaction would do on first use.
    fn warm(&self) {
        if self.r.withheld {
            return;
        }
        self.sha256();
        if self.inspection().is_some() {
            self.is_strict_json();
        }
    }
}

/// Batches at least this long have their payloads parsed and hashed by a second thread
/// running ahead of the push transaction, so the single database writer spends its time
/// on the database.
const WARM_AHEAD_MIN_RECORDS: usize = 8;

/// What [`Store::check_record`] found acceptable.
struct Checked {
    /// The normalised USCC of the record's enterprise.
    uscc: Option<String>,
    /// The division the record belongs to (and is published under).
    division: DivisionCode,
    /// A hazard this record creates.
    new_hazard: Option<NewHazard>,
}

/// A hazard created by an accepted `created` event.
struct NewHazard {
    id: Uuid,
    enterprise_id: Uuid,
    uscc: String,
    severity: gridwalk_checklist::Severity,
}

/// Where a hazard event belongs.
enum HazardPlace {
    /// It creates a hazard of the envelope's enterprise.
    New(NewHazard),
    /// It follows a hazard the server holds: its enterprise and division.
    Known {
        uscc: String,
        division: DivisionCode,
    },
}

/// Checks a pushed hazard event (docs/server.md, "Device trust"): it must parse as a
/// [`gridwalk_checklist::HazardEvent`] (devices apply pulled events) naming the
/// authenticated user as its actor, and the caller's role must allow its kind
/// ([`crate::authz::may_record`]). A `created` event must name the enterprise whose USCC
/// the envelope carries and a hazard id not yet used; any later event must follow a
/// hazard the server holds, and belongs to that hazard's division whatever the envelope
/// claims (the caller's jurisdiction is checked against it afterwards).
fn check_hazard_event(
    t: &mut dyn Tx,
    caller: &Caller,
    payload: &str,
    uscc: Option<&str>,
) -> Result<Result<HazardPlace, (ProblemCode, String)>, StoreError> {
    use gridwalk_checklist::HazardEventKind;
    let bad = |code, detail: String| Ok(Err((code, detail)));
    let event = match serde_json::from_str::<gridwalk_checklist::HazardEvent>(payload) {
        Ok(e) => e,
        Err(e) => {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("payload is not a hazard event: {e}"),
            )
        }
    };
    // Events fold in time order: one dated far ahead of the server's clock would sort
    // after every real event to come and decide the hazard's state for good.
    if event.at > now() + Duration::hours(MAX_EVENT_AHEAD_HOURS) {
        return bad(
            ProblemCode::PayloadInvalid,
            format!(
                "the event is dated {}, more than {MAX_EVENT_AHEAD_HOURS} h after the server's clock; set the phone's clock",
                event.at
            ),
        );
    }
    if event.actor != caller.user_name {
        return bad(
            ProblemCode::PayloadInvalid,
            format!(
                "the event names '{}' as its actor, but it is pushed by '{}'",
                event.actor, caller.user_name
            ),
        );
    }
    let held = t.query_opt(
        "SELECT enterprise_uscc, division_code, severity FROM hazard WHERE id = $1",
        &[event.hazard_id.to_string().into()],
    )?;
    let (place, severity) = match (&event.kind, held) {
        (HazardEventKind::Created { .. }, Some(_)) => {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("hazard {} already exists", event.hazard_id),
            )
        }
        (
            HazardEventKind::Created {
                enterprise_id,
                severity,
                ..
            },
            None,
        ) => {
            let expected = uscc.and_then(|u| Uscc::parse(u).ok());
            match expected {
                Some(u) if gridwalk_core::ids::enterprise_id(&u) == *enterprise_id => (
                    HazardPlace::New(NewHazard {
                        id: event.hazard_id,
                        enterprise_id: *enterprise_id,
                        uscc: u.as_str().to_string(),
                        severity: *severity,
                    }),
                    *severity,
                ),
                _ => {
                    return bad(
                        ProblemCode::PayloadInvalid,
                        format!(
                            "a created hazard event must carry the USCC of its enterprise {enterprise_id}"
                        ),
                    )
                }
            }
        }
        (_, None) => {
            return bad(
                ProblemCode::UnknownHazard,
                format!(
                    "no hazard {} is held; its creation must be pushed first",
                    event.hazard_id
                ),
            )
        }
        (_, Some(row)) => {
            let held_uscc = row.str(0)?;
            if uscc.is_some_and(|u| {
                Uscc::parse(u)
                    .map(|u| u.as_str() != held_uscc)
                    .unwrap_or(true)
            }) {
                return bad(
                    ProblemCode::PayloadInvalid,
                    format!("hazard {} belongs to another enterprise", event.hazard_id),
                );
            }
            let severity = match row.str(2)?.as_str() {
                "major" => gridwalk_checklist::Severity::Major,
                _ => gridwalk_checklist::Severity::General,
            };
            let division = DivisionCode::parse(&row.str(1)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            (
                HazardPlace::Known {
                    uscc: held_uscc,
                    division,
                },
                severity,
            )
        }
    };
    if !crate::authz::may_record(caller.role, event.kind.name(), severity) {
        return bad(
            ProblemCode::ForbiddenRole,
            format!(
                "a {} may not record '{:?}' on a {} hazard",
                caller.role.as_str(),
                event.kind.name(),
                severity_str(severity)
            ),
        );
    }
    Ok(Ok(place))
}

/// The role the template `id` version `version` is meant for: the one the projections
/// read ([`crate::facts::template`]: published, else shipped), else — a version this
/// server does not ship, from a newer app — the id's newest shipped version; `None` for
/// a template it does not know.
fn template_role(
    t: &mut dyn Tx,
    id: &str,
    version: u32,
) -> Result<Option<gridwalk_checklist::Role>, StoreError> {
    if let Some(tpl) = crate::facts::template(t, id, version)? {
        return Ok(Some(tpl.role));
    }
    Ok(gridwalk_checklist::builtin_template(id).map(|tpl| tpl.role))
}

/// An inspection is of the enterprise its envelope names (whose village the
/// jurisdiction check placed), and its template must be one the server knows, meant
/// for the pushing user's role ([`crate::authz::may_run_template`]), or assigned to
/// that user on that enterprise by an officer (in any state: an inspection finished
/// before a cancel still arrives). The payload's own `role` and `inspector` are the
/// phone's word and decide nothing.
fn check_inspection(
    t: &mut dyn Tx,
    caller: &Caller,
    p: &gridwalk_checklist::FinalizedInspection,
    envelope_uscc: Option<&str>,
) -> Result<Result<(), (ProblemCode, String)>, StoreError> {
    // Exactly the envelope's (normalised) USCC: the projections file the inspection
    // under the payload's, as the phone froze it.
    if Some(p.enterprise_uscc.as_str()) != envelope_uscc {
        return Ok(Err((
            ProblemCode::PayloadInvalid,
            format!(
                "the inspection is of {} but its envelope names {}",
                p.enterprise_uscc,
                envelope_uscc.unwrap_or("no enterprise")
            ),
        )));
    }
    let Some(role) = template_role(t, &p.template_id, p.template_version)? else {
        return Ok(Err((
            ProblemCode::PayloadInvalid,
            format!(
                "template '{}' version {} is not known to this server",
                p.template_id, p.template_version
            ),
        )));
    };
    if crate::authz::may_run_template(caller.role, role) {
        return Ok(Ok(()));
    }
    let uscc = envelope_uscc.unwrap_or_default();
    let assigned = t
        .query_opt(
            "SELECT 1 FROM assignment WHERE enterprise_uscc = $1 AND template_id = $2 AND assignee = $3",
            &[
                uscc.into(),
                p.template_id.clone().into(),
                caller.user_name.clone().into(),
            ],
        )?
        .is_some();
    if assigned {
        return Ok(Ok(()));
    }
    Ok(Err((
        ProblemCode::ForbiddenRole,
        format!(
            "the role {} may not run the template '{}' (for the role {}) without an assignment of it on {}",
            caller.role.as_str(),
            p.template_id,
            serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            uscc
        ),
    )))
}

impl Store {
    /// Stores a batch of records: one result per record, in request order, and a
    /// signed receipt of everything in the batch the server holds.
    pub fn push(
        &self,
        caller: &Caller,
        records: &[RecordEnvelope],
    ) -> Result<PushResponse, StoreError> {
        let received = ts(now());
        let pg = self.dialect() == Dialect::Postgres;
        // The payloads, parsed at most once for the checks and the projection: by a
        // second thread ahead of the transaction when the batch is long enough.
        let typed: Vec<TypedPayload> = records.iter().map(TypedPayload::new).collect();
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by_key(|i| records[*i].seq);
        let (results, links, next_seq, held_at) = std::thread::scope(|scope| {
            if records.len() >= WARM_AHEAD_MIN_RECORDS {
                let (typed, order) = (&typed, &order);
                scope.spawn(move || order.iter().for_each(|i| typed[*i].warm()));
            }
            self.push_tx(caller, &typed, &order, &received, pg)
        })?;
        let mut held = Vec::new();
        for ((res, env), link) in results.iter().zip(records).zip(links) {
            let status = match res.outcome {
                Outcome::Accepted => "accepted",
                Outcome::Duplicate => "duplicate",
                _ => continue,
            };
            held.push(ReceiptRecord {
                id: env.id,
                seq: held_at.get(&env.id).copied().unwrap_or(env.seq),
                payload_sha256: env.payload_sha256.clone(),
                status: status.into(),
                link_sha256: link,
            });
        }
        let body = ReceiptBody {
            protocol: PROTOCOL_VERSION,
            device_id: caller.device_id,
            server_time: now(),
            next_seq,
            records: held,
        };
        let receipt = Receipt::sign(&body, &self.signing)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise receipt: {e}")))?;
        Ok(PushResponse {
            results,
            next_seq,
            receipt,
        })
    }

    /// The push's transaction: every record in sequence order, then the device's row.
    #[allow(clippy::type_complexity)]
    fn push_tx(
        &self,
        caller: &Caller,
        typed: &[TypedPayload],
        order: &[usize],
        received: &str,
        pg: bool,
    ) -> Result<
        (
            Vec<RecordResult>,
            Vec<Option<String>>,
            u64,
            HashMap<Uuid, u64>,
        ),
        StoreError,
    > {
        let device = caller.device_id.to_string();
        self.tx(|t| {
            // Takes the device's row lock: pushes of one device are serialised.
            t.exec(
                "UPDATE device SET next_seq = next_seq WHERE id = $1",
                &[device.clone().into()],
            )?;
            let row = t
                .query_opt(
                    "SELECT next_seq, chain_head, branch FROM device WHERE id = $1",
                    &[device.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::Unauthenticated, "device not found"))?;
            let mut sequence = Sequence {
                next: row.int(0)? as u64,
                head: row.text(1)?,
                branch: row.int(2)?,
                taken: Vec::new(),
                reused: std::collections::HashSet::new(),
                republish: std::collections::BTreeSet::new(),
                held_at: HashMap::new(),
                facts: Default::default(),
                lookups: BatchLookups::read(t, order.iter().map(|&i| typed[i].r))?,
            };
            let mut results: Vec<Option<RecordResult>> = vec![None; typed.len()];
            let mut links: Vec<Option<String>> = vec![None; typed.len()];
            for &i in order {
                let r = typed[i].r;
                let (outcome, link) =
                    self.push_one(t, caller, &typed[i], &mut sequence, received, pg)?;
                results[i] = Some(RecordResult {
                    id: r.id,
                    seq: r.seq,
                    outcome,
                });
                links[i] = link;
            }
            // The batch's confirmed facts, each written once; then the enterprises
            // whose facts changed, published once each.
            let facts = std::mem::take(&mut sequence.facts).into_inner();
            sequence.republish.extend(facts.flush(t)?);
            for uscc in std::mem::take(&mut sequence.republish) {
                crate::facts::republish(t, pg, &uscc)?;
            }
            t.exec(
                "UPDATE device SET next_seq = $1, chain_head = $2, branch = $3 WHERE id = $4",
                &[
                    (sequence.next as i64).into(),
                    sequence.head.clone().into(),
                    sequence.branch.into(),
                    device.clone().into(),
                ],
            )?;
            let taken: Vec<Vec<Val>> = std::mem::take(&mut sequence.taken)
                .into_iter()
                .map(|e| {
                    vec![
                        device.clone().into(),
                        (e.seq as i64).into(),
                        e.record_id.into(),
                        e.payload_sha256.into(),
                        e.status.as_str().into(),
                        e.link.into(),
                    ]
                })
                .collect();
            crate::db::insert_rows(
                t,
                "INSERT INTO device_seq (device_id, seq, record_id, payload_sha256, status, link_sha256)",
                taken,
                "ON CONFLICT (device_id, seq) DO NOTHING",
            )?;
            Ok((
                results.into_iter().flatten().collect::<Vec<_>>(),
                links,
                sequence.next,
                sequence.held_at,
            ))
        })
    }

    fn push_one(
        &self,
        t: &mut dyn Tx,
        caller: &Caller,
        typed: &TypedPayload,
        sequence: &mut Sequence,
        received: &str,
        pg: bool,
    ) -> Result<(Outcome, Option<String>), StoreError> {
        let r = typed.r;
        let id = r.id.to_string();
        // A link that does not hash to what it claims is never taken as a chain head.
        let verified_link = r.link.as_ref().and_then(|l| {
            (l.computed_hash(r.seq, &r.payload_sha256, r.device_time)
                .as_deref()
                == Some(l.hash.as_str()))
            .then(|| l.hash.clone())
        });
        let held = if sequence.lookups.held.contains(&id) {
            t.query_opt(
                "SELECT r.payload_sha256, r.state, r.reject_code, r.reject_detail,
                    d.id <> $2 AND d.user_id = (SELECT user_id FROM device WHERE id = $2),
                    d.id = $2 OR EXISTS (SELECT 1 FROM record_holder h
                                         WHERE h.record_id = r.id AND h.device_id = $2),
                    r.link_sha256
             FROM record r JOIN device d ON d.id = r.device_id WHERE r.id = $1",
                &[id.clone().into(), caller.device_id.to_string().into()],
            )?
        } else {
            None
        };
        if let Some(row) = held {
            let existing = row.str(0)?;
            let same_user_other_device = row.int(4)? != 0;
            let held_by_caller = row.int(5)? != 0;
            let stored_link = row.text(6)?;
            if !held_by_caller && !same_user_other_device {
                // Another person's record: say nothing about it (no hash, no state, no
                // receipt entry). The id still takes its place in this device's sequence,
                // like any refused record, so what follows is not a gap.
                match verified_link {
                    Some(l)
                        if chain_problem(r, &Some(l.clone()), &sequence.head, typed).is_none() =>
                    {
                        sequence.take(r, HeldStatus::Rejected, Some(l))
                    }
                    _ => sequence.skip(r, HeldStatus::Rejected),
                }
                return Ok((
                    Outcome::Rejected {
                        code: ProblemCode::RecordIdTaken,
                        detail: "this record id is not available to this device; a new record needs a new id".into(),
                    },
                    None,
                ));
            }
            // The id is held already (pushed before by this device, or by this device
            // under an earlier enrollment): it still takes its place in this device's
            // sequence, so what follows is not a gap. The link the server holds stays
            // the truth: a phone whose chain was re-hashed since cannot replace it.
            let relinked = matches!((&r.link, &stored_link), (Some(l), Some(s)) if &l.hash != s);
            // A position this device's sequence had already settled: the record may be
            // held at another one (the phone went back to a copy from before a fork).
            let settled = r.seq < sequence.next;
            let refused_as_broken =
                row.text(2)?.as_deref() == Some(ProblemCode::ChainBroken.as_str());
            let status = if row.str(1)? == "rejected" || existing != r.payload_sha256 || relinked {
                HeldStatus::Rejected
            } else {
                HeldStatus::Held
            };
            match stored_link.clone().or(verified_link) {
                // A link once refused as broken never becomes the head, under any
                // identity; nor does "no link" replace an anchored head.
                _ if refused_as_broken => sequence.skip(r, status),
                None if sequence.head.is_some() => sequence.skip(r, status),
                link => sequence.take(r, status, link),
            }
            if row.str(1)? == "rejected" {
                let code: ProblemCode =
                    serde_json::from_value(serde_json::Value::String(row.str(2)?))
                        .unwrap_or(ProblemCode::PayloadInvalid);
                return Ok((
                    Outcome::Rejected {
                        code,
                        detail: row.text(3)?.unwrap_or_default(),
                    },
                    None,
                ));
            }
            if existing != r.payload_sha256 {
                return Ok((
                    Outcome::Conflict {
                        existing_sha256: existing,
                    },
                    None,
                ));
            }
            if relinked {
                return Ok((
                    Outcome::Rejected {
                        code: ProblemCode::ChainBroken,
                        detail: format!(
                            "record {id} is held with another chain link; the phone's chain was rewritten after it was synced"
                        ),
                    },
                    None,
                ));
            }
            if same_user_other_device {
                // The same person's device under a new enrollment: it holds this
                // record too, and may deliver the photos the old identity did not.
                t.exec(
                    "INSERT INTO record_holder (record_id, device_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                    &[id.clone().into(), caller.device_id.to_string().into()],
                )?;
            }
            if settled && held_by_caller {
                if let Some(at) = held_position(t, &caller.device_id, &id, r.seq)? {
                    sequence.held_at.insert(r.id, at);
                }
            }
            return Ok((Outcome::Duplicate, stored_link));
        }
        let follows_reused = r
            .link
            .as_ref()
            .is_some_and(|l| sequence.reused.contains(&l.prev_hash));
        if r.seq < sequence.next || follows_reused {
            // Nothing stored: the phone renumbers (forks) and sends it again.
            if let Some(l) = &verified_link {
                sequence.reused.insert(l.clone());
            }
            let detail = if follows_reused {
                format!(
                    "record {} follows a record of this push whose position is taken; fork from the next expected {}",
                    r.id, sequence.next
                )
            } else {
                format!(
                    "sequence number {} is already used; the next expected is {}",
                    r.seq, sequence.next
                )
            };
            return Ok((
                Outcome::Rejected {
                    code: ProblemCode::SeqReused,
                    detail,
                },
                None,
            ));
        }
        if r.seq > sequence.next {
            return Ok((
                Outcome::Gap {
                    expected_seq: sequence.next,
                },
                None,
            ));
        }
        // The first record of a fork (a phone restored from an older copy) continues a
        // link of this device's sequence other than the head: checked against that link.
        let fork_point = match (&r.link, &verified_link) {
            (Some(l), Some(_)) if r.fork && Some(&l.prev_hash) != sequence.head.as_ref() => {
                fork_point_of(t, &caller.device_id, l, r.seq)?
            }
            _ => None,
        };
        let head = match (&fork_point, &r.link) {
            (Some(_), Some(l)) => Some(l.prev_hash.clone()),
            _ => sequence.head.clone(),
        };
        let checked = match chain_problem(r, &verified_link, &head, typed) {
            Some(problem) => Err(problem),
            None if r.withheld => Err((
                ProblemCode::PayloadTooLarge,
                "the phone holds this record but withheld its payload: it is over the \
                 server's payload limit"
                    .to_string(),
            )),
            None => self.check_record(t, caller, r, typed, &sequence.lookups)?,
        };
        let fork_point =
            fork_point.filter(|_| !matches!(&checked, Err((ProblemCode::ChainBroken, _))));
        if let Some(p) = fork_point {
            sequence.branch += 1;
            tracing::warn!(device = %caller.device_id, record = %id, seq = r.seq, fork_point = p,
                branch = sequence.branch, "the device forked its chain (restored from an older copy)");
        }
        let branch_cols = [sequence.branch.into(), fork_point.map(|p| p as i64).into()];
        let seq = r.seq as i64;
        // Only a link that hashes to what it claims is kept with the record.
        let link = r.link.as_ref().filter(|_| verified_link.is_some());
        let link_cols = [
            link.map(|l| l.hash.clone()).into(),
            link.map(|l| l.prev_hash.clone()).into(),
            link.map(|l| i64::from(l.version)).into(),
        ];
        match checked {
            Ok(Checked {
                uscc,
                division,
                new_hazard,
            }) => {
                let [l1, l2, l3] = link_cols;
                let [b1, b2] = branch_cols;
                let clock = r.device_time.and_then(|d| {
                    let received = DateTime::parse_from_rfc3339(received).ok()?;
                    ClockFlag::assess(d, received.with_timezone(&Utc), gnss_time(&r.payload))
                });
                t.exec(
                    "INSERT INTO record (id, device_id, seq, kind, payload_sha256, payload, enterprise_uscc, division_code, state, device_time, received_at, link_sha256, prev_link_sha256, link_version, clock_flag, clock_skew_s, branch, fork_point)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted', $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                    &[
                        id.clone().into(),
                        caller.device_id.to_string().into(),
                        seq.into(),
                        r.kind.as_str().into(),
                        r.payload_sha256.clone().into(),
                        r.payload.clone().into(),
                        uscc.into(),
                        division.as_str().into(),
                        r.device_time.map(ts).into(),
                        received.into(),
                        l1,
                        l2,
                        l3,
                        clock.as_ref().map(|c| c.kind.clone()).into(),
                        clock.as_ref().map(|c| c.skew_s).into(),
                        b1,
                        b2,
                    ],
                )?;
                sequence.lookups.held.insert(id.clone());
                if let Some(c) = &clock {
                    tracing::info!(record = %id, kind = %c.kind, skew_s = c.skew_s, "device clock flagged");
                }
                let mut photos = r.photos.clone();
                photos.sort();
                photos.dedup();
                // Only an evidence record's links are indexed by hash (migration 0023).
                let evidence = i64::from(r.kind == RecordKind::Evidence);
                let photos = photos
                    .into_iter()
                    .map(|p| vec![id.clone().into(), p.into(), evidence.into()])
                    .collect();
                crate::db::insert_rows(
                    t,
                    "INSERT INTO record_photo (record_id, sha256, evidence)",
                    photos,
                    "",
                )?;
                if let Some(h) = new_hazard {
                    t.exec(
                        "INSERT INTO hazard (id, enterprise_id, enterprise_uscc, division_code, severity, created_record_id)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                        &[
                            h.id.to_string().into(),
                            h.enterprise_id.to_string().into(),
                            h.uscc.into(),
                            division.as_str().into(),
                            severity_str(h.severity).into(),
                            id.clone().into(),
                        ],
                    )?;
                }
                if r.kind == RecordKind::HazardEvent {
                    let body: serde_json::Value = serde_json::from_str(&r.payload)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    upsert_change(
                        t,
                        pg,
                        ChangeKind::HazardEvent,
                        &id,
                        Some(division.as_str()),
                        &body,
                    )?;
                }
                if let Some(uscc) = crate::projections::project_parsed(
                    t,
                    &crate::projections::Accepted {
                        id: &id,
                        device_id: &caller.device_id.to_string(),
                        kind: r.kind.as_str(),
                        payload: &r.payload,
                        division: division.as_str(),
                        received_at: received,
                        payload_sha256: &r.payload_sha256,
                        pg,
                        publish: true,
                        facts: Some(&sequence.facts),
                    },
                    typed.inspection(),
                )? {
                    sequence.republish.insert(uscc);
                }
                sequence.take(r, HeldStatus::Held, verified_link.clone());
                Ok((Outcome::Accepted, verified_link))
            }
            Err((code, detail)) => {
                let [l1, l2, l3] = link_cols;
                let [b1, b2] = branch_cols;
                t.exec(
                    "INSERT INTO record (id, device_id, seq, kind, payload_sha256, state, reject_code, reject_detail, received_at, link_sha256, prev_link_sha256, link_version, branch, fork_point)
                     VALUES ($1, $2, $3, $4, $5, 'rejected', $6, $7, $8, $9, $10, $11, $12, $13)",
                    &[
                        id.clone().into(),
                        caller.device_id.to_string().into(),
                        seq.into(),
                        r.kind.as_str().into(),
                        r.payload_sha256.clone().into(),
                        code.as_str().into(),
                        detail.clone().into(),
                        received.into(),
                        l1,
                        l2,
                        l3,
                        b1,
                        b2,
                    ],
                )?;
                sequence.lookups.held.insert(id);
                // A broken link does not become the head: what follows it is checked
                // against the last link that held.
                if code == ProblemCode::ChainBroken {
                    sequence.skip(r, HeldStatus::Rejected);
                } else {
                    sequence.take(r, HeldStatus::Rejected, verified_link);
                }
                Ok((Outcome::Rejected { code, detail }, None))
            }
        }
    }

    /// Per-record checks: hash, payload, photos, jurisdiction. Returns the normalised
    /// USCC and the division the record belongs to.
    fn check_record(
        &self,
        t: &mut dyn Tx,
        caller: &Caller,
        r: &RecordEnvelope,
        typed: &TypedPayload,
        lookups: &BatchLookups,
    ) -> Result<Result<Checked, (ProblemCode, String)>, StoreError> {
        let bad = |code, detail: String| Ok(Err((code, detail)));
        if !is_sha256_hex(&r.payload_sha256) {
            return bad(
                ProblemCode::PayloadInvalid,
                "payload_sha256 is not 64 lower-case hex digits".into(),
            );
        }
        if r.payload.len() as u64 > self.limits.max_payload_bytes {
            return bad(
                ProblemCode::PayloadTooLarge,
                format!(
                    "payload is over {} bytes (the server's published max_payload_bytes)",
                    self.limits.max_payload_bytes
                ),
            );
        }
        let actual = typed.sha256();
        if actual != r.payload_sha256 {
            return bad(
                ProblemCode::PayloadHashMismatch,
                format!("the payload's SHA-256 is {actual}"),
            );
        }
        // An inspection that parses is JSON; anything else is read through once.
        if typed.inspection().is_none()
            && serde_json::from_str::<serde::de::IgnoredAny>(&r.payload).is_err()
        {
            return bad(ProblemCode::PayloadInvalid, "payload is not JSON".into());
        }
        if let Some(p) = r.photos.iter().find(|p| !is_sha256_hex(p)) {
            return bad(
                ProblemCode::PayloadInvalid,
                format!("photo hash '{p}' is not 64 lower-case hex digits"),
            );
        }
        let mut uscc_out = None;
        let division = if let Some(u) = &r.enterprise_uscc {
            let uscc = match Uscc::parse(u) {
                Ok(u) => u,
                Err(e) => return bad(ProblemCode::PayloadInvalid, format!("USCC '{u}': {e}")),
            };
            uscc_out = Some(uscc.as_str().to_string());
            let village = lookups.village(t, uscc.as_str())?;
            match (village, &r.division_code) {
                (Some(v), _) => {
                    DivisionCode::parse(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                (None, Some(d)) => match DivisionCode::parse(d) {
                    Ok(d) => d,
                    Err(e) => return bad(ProblemCode::PayloadInvalid, e.to_string()),
                },
                (None, None) => {
                    return bad(
                        ProblemCode::UnknownEnterprise,
                        format!("{uscc} is not in the register and no division_code was given"),
                    )
                }
            }
        } else if let Some(d) = &r.division_code {
            match DivisionCode::parse(d) {
                Ok(d) => d,
                Err(e) => return bad(ProblemCode::PayloadInvalid, e.to_string()),
            }
        } else {
            caller.jurisdiction.clone()
        };
        let mut division = division;
        let mut new_hazard = None;
        if r.kind == RecordKind::HazardEvent {
            match check_hazard_event(t, caller, &r.payload, uscc_out.as_deref())? {
                Err((code, detail)) => return bad(code, detail),
                Ok(HazardPlace::New(h)) => new_hazard = Some(h),
                Ok(HazardPlace::Known { uscc, division: d }) => {
                    uscc_out = Some(uscc);
                    division = d;
                }
            }
        }
        if r.kind == RecordKind::Lease {
            let covers = |d: &DivisionCode| caller.jurisdiction.covers(d);
            if let Err((code, detail)) =
                crate::phone_leases::check(t, &r.payload, uscc_out.as_deref(), &covers)?
            {
                return bad(code, detail);
            }
        }
        if r.kind == RecordKind::SuspectedConfirmation {
            let covers = |d: &DivisionCode| caller.jurisdiction.covers(d);
            if let Err((code, detail)) =
                crate::suspected::check(t, &r.payload, r.division_code.as_deref(), &covers)?
            {
                return bad(code, detail);
            }
        }
        if !caller.jurisdiction.covers(&division) {
            return bad(
                ProblemCode::ForbiddenJurisdiction,
                format!(
                    "{division} is outside {}'s jurisdiction {}",
                    caller.user_name, caller.jurisdiction
                ),
            );
        }
        if let Some(p) = typed.inspection() {
            if let Err((code, detail)) = check_inspection(t, caller, p, uscc_out.as_deref())? {
                return bad(code, detail);
            }
        }
        Ok(Ok(Checked {
            uscc: uscc_out,
            division,
            new_hazard,
        }))
    }

    // ------------------------------------------------------------ record state

    /// A record of the caller's device, with its state and missing photos.
    pub fn record_status(&self, caller: &Caller, id: Uuid) -> Result<RecordStatus, StoreError> {
        self.tx(|t| {
            let row = t
                .query_opt(
                    "SELECT seq, kind, payload_sha256, state, clock_flag, clock_skew_s, branch, fork_point FROM record r WHERE id = $1
                       AND (device_id = $2 OR EXISTS (SELECT 1 FROM record_holder h
                            WHERE h.record_id = r.id AND h.device_id = $2))",
                    &[id.to_string().into(), caller.device_id.to_string().into()],
                )?
                .ok_or_else(|| {
                    problem(
                        ProblemCode::NotFound,
                        format!("no record {id} from this device"),
                    )
                })?;
            let photos = photo_hashes(t, &id.to_string())?;
            let missing = missing_for(t, &id.to_string())?;
            let state = if row.str(3)? == "rejected" {
                RecordState::Rejected
            } else if missing.is_empty() {
                RecordState::Complete
            } else {
                RecordState::Accepted
            };
            Ok(RecordStatus {
                id,
                seq: row.int(0)? as u64,
                kind: RecordKind::parse(&row.str(1)?)
                    .ok_or_else(|| StoreError::Corrupt("bad record kind".into()))?,
                payload_sha256: row.str(2)?,
                state,
                photos,
                missing_photos: missing,
                clock: clock_of(&row, 4)?,
                branch: row.int(6)?.max(0) as u64,
                fork_point: row.opt_int(7)?.map(|p| p.max(0) as u64),
            })
        })
    }

    /// Photos referenced by the accepted records the caller pushed or holds (pushed again
    /// after enrolling anew) that no device holding the record has delivered yet: bytes
    /// another device uploaded do not count (`blob_source`).
    pub fn missing_photos(&self, caller: &Caller) -> Result<MissingPhotos, StoreError> {
        let rows = self.tx(|t| {
            t.query(
                "SELECT rp.sha256, rp.record_id FROM record_photo rp JOIN record r ON r.id = rp.record_id
                 WHERE r.state = 'accepted'
                   AND r.id IN (SELECT id FROM record WHERE device_id = $1
                                UNION SELECT record_id FROM record_holder WHERE device_id = $1)
                   AND NOT EXISTS (SELECT 1 FROM blob_source bs
                       JOIN device src ON src.id = bs.device_id
                       WHERE bs.sha256 = rp.sha256
                         AND src.user_id = (SELECT user_id FROM device WHERE id = r.device_id))
                 ORDER BY rp.sha256, rp.record_id",
                &[caller.device_id.to_string().into()],
            )
            .map_err(StoreError::from)
        })?;
        let mut by_hash: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for r in &rows {
            by_hash.entry(r.str(0)?).or_default().push(uuid_of(r, 1)?);
        }
        Ok(MissingPhotos {
            photos: by_hash
                .into_iter()
                .map(|(sha256, records)| MissingPhoto { sha256, records })
                .collect(),
        })
    }

    /// Compares what the server holds of the caller's sequence with the device's digests
    /// (docs/sync-protocol.md "Reconciliation"): each range is answered `same`, split
    /// into [`FAN_OUT`] parts with the server's digests, or — at most [`LEAF_POSITIONS`]
    /// positions — with the entries held. Also the epoch, the next position, the photos
    /// still missing and the limits.
    pub fn reconcile(
        &self,
        caller: &Caller,
        req: &ReconcileRequest,
    ) -> Result<ReconcileResponse, StoreError> {
        if req.ranges.len() > MAX_RANGES {
            return Err(problem(
                ProblemCode::MalformedBody,
                format!("{} ranges; at most {MAX_RANGES}", req.ranges.len()),
            ));
        }
        // In order and apart: a request reads each position of the device at most once.
        if let Some(w) = req.ranges.windows(2).find(|w| w[1].from <= w[0].to) {
            return Err(problem(
                ProblemCode::MalformedBody,
                format!(
                    "range {}..={} does not come after {}..={}: ranges are ascending and do not overlap",
                    w[1].from, w[1].to, w[0].from, w[0].to
                ),
            ));
        }
        for r in &req.ranges {
            if r.from == 0 || r.from > r.to || r.to > i64::MAX as u64 || !is_sha256_hex(&r.digest) {
                return Err(problem(
                    ProblemCode::MalformedBody,
                    format!(
                        "range {}..={} with digest '{}': ranges start at 1, end at or after their start, and carry a SHA-256",
                        r.from, r.to, r.digest
                    ),
                ));
            }
        }
        let device = caller.device_id.to_string();
        let (epoch, next_seq, ranges) = self.tx(|t| {
            let epoch = epoch_of(t)?;
            let next_seq = t
                .query_opt(
                    "SELECT next_seq FROM device WHERE id = $1",
                    &[device.clone().into()],
                )?
                .ok_or_else(|| problem(ProblemCode::Unauthenticated, "device not found"))?
                .int(0)? as u64;
            let mut answers = Vec::with_capacity(req.ranges.len());
            for r in &req.ranges {
                let rows = t.query(
                    "SELECT seq, record_id, payload_sha256, status FROM device_seq
                     WHERE device_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq",
                    &[
                        device.clone().into(),
                        (r.from as i64).into(),
                        (r.to as i64).into(),
                    ],
                )?;
                let mut entries = Vec::with_capacity(rows.len());
                for row in &rows {
                    entries.push(HeldEntry {
                        seq: row.int(0)? as u64,
                        id: uuid_of(row, 1)?,
                        payload_sha256: row.str(2)?,
                        status: match row.str(3)?.as_str() {
                            "held" => HeldStatus::Held,
                            _ => HeldStatus::Rejected,
                        },
                    });
                }
                let verdict = if range_digest(&entries) == r.digest {
                    RangeVerdict::Same
                } else if r.len() <= LEAF_POSITIONS {
                    RangeVerdict::Entries { entries }
                } else {
                    // One pass over the (ordered) entries.
                    let step = r.len().div_ceil(FAN_OUT);
                    let mut parts = Vec::new();
                    let mut rest = entries.as_slice();
                    let mut from = r.from;
                    while from <= r.to {
                        let to = from.saturating_add(step - 1).min(r.to);
                        let n = rest.partition_point(|e| e.seq <= to);
                        let (inside, after) = rest.split_at(n);
                        parts.push(SeqRange {
                            from,
                            to,
                            digest: range_digest(inside),
                        });
                        rest = after;
                        from = to + 1;
                    }
                    RangeVerdict::Split { parts }
                };
                answers.push(RangeAnswer {
                    from: r.from,
                    to: r.to,
                    verdict,
                });
            }
            Ok((epoch, next_seq, answers))
        })?;
        let missing = self.missing_photos(caller)?;
        let missing_photos_more = missing.photos.len() > MAX_MISSING_LISTED;
        Ok(ReconcileResponse {
            epoch,
            next_seq,
            ranges,
            missing_photos: missing
                .photos
                .into_iter()
                .take(MAX_MISSING_LISTED)
                .map(|m| m.sha256)
                .collect(),
            missing_photos_more,
            limits: self.limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain check's fast path must refuse what its `Value` reading refuses.
    #[test]
    fn any_json_accepts_what_a_json_value_accepts() {
        for text in [
            r#"{"a":[1,-2,3.5,1e308,"x",null,true,{"b":{}}],"c":"\ud83d\ude00"}"#,
            r#"{"a":1e999}"#,
            r#"{"a":-1e999}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"\udc00":1}"#,
            r#"{"a":"\u00zz"}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a":"tab	in"}"#,
            "[]",
            "12345678901234567890123",
            "",
        ] {
            assert_eq!(
                serde_json::from_str::<AnyJson>(text).is_ok(),
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text}"
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<AnyJson>(&deep).is_err());
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn a_stamp_is_read_however_its_key_is_written() {
        let t = Some(
            DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .expect("time")
                .with_timezone(&Utc),
        );
        let plain = r#"{"stamp":{"fix_time":"2026-01-02T03:04:05Z"}}"#;
        let escaped = r#"{"\u0073tamp":{"fix_time":"2026-01-02T03:04:05Z"}}"#;
        assert_eq!(gnss_time(plain), t);
        assert_eq!(gnss_time(escaped), t);
        assert_eq!(gnss_time(r#"{"stamps":1,"a":"stamp"}"#), None);
        assert_eq!(gnss_time("{}"), None);
    }
}
