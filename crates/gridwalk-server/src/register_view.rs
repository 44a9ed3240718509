//! The register as an officer reads it (docs/console.md "企业"): each enterprise of a
//! division with the facts confirmed on visits applied (who, when, from which
//! inspection), its last visit and its open hazards; searched as the phone searches
//! (USCC prefix, pinyin full or initials, or a substring of name or address).

use crate::db::Tx;
use crate::error::StoreError;
use crate::store::{problem, Store};
use crate::work::Actor;
use gridwalk_core::search::{QueryKind, SearchQuery};
use gridwalk_core::DivisionCode;
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use serde_json::Value;

/// Most rows one page answers.
pub const MAX_LIMIT: usize = 1000;

/// One enterprise of the register with what visits confirmed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterpriseRow {
    pub uscc: String,
    pub name: String,
    pub village_code: String,
    /// The village's name, when the divisions are imported.
    pub village_name: Option<String>,
    /// The register row with confirmed facts applied: address, location, dust types,
    /// workers per shift, Al/Mg, 安全专员, risk report, warning education, and
    /// `confirmations` (per fact: by, at, inspection_id), as the phones pull it.
    #[schema(value_type = Object)]
    pub register: Value,
    /// A 厂中厂 tenant.
    pub tenant: bool,
    /// The latest finalized inspection (RFC 3339), if any.
    pub last_visit: Option<String>,
    pub inspections: i64,
    /// Hazards not closed.
    pub open_hazards: i64,
}

/// `GET /v1/enterprises`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnterprisePage {
    /// Enterprises matching, of which `rows` holds the first `limit`.
    pub total: usize,
    pub rows: Vec<EnterpriseRow>,
}

impl Store {
    /// The enterprises of `division` matching `query` (all when `None`), ordered by
    /// village and USCC; at most `limit` rows. Officers and admins only, inside their
    /// jurisdiction (outside: 404).
    pub fn enterprise_page(
        &self,
        actor: &Actor,
        division: &DivisionCode,
        query: Option<&str>,
        limit: usize,
    ) -> Result<EnterprisePage, StoreError> {
        if !actor.may_manage() || !actor.sees(division) {
            return Err(problem(
                ProblemCode::NotFound,
                format!("no division {division} in your jurisdiction"),
            ));
        }
        let query = match query.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => Some(
                SearchQuery::parse(q)
                    .map_err(|e| problem(ProblemCode::MalformedBody, format!("q: {e}")))?,
            ),
            None => None,
        };
        let limit = limit.clamp(1, MAX_LIMIT);
        self.tx(|t| {
            let rows = t.query(
                "SELECT e.uscc, COALESCE(e.name, ''), e.village_code, e.body, COALESCE(e.tenant, 0),
                        d.name
                 FROM enterprise e LEFT JOIN division d ON d.code = e.village_code
                 WHERE e.village_code LIKE $1
                 ORDER BY e.village_code, e.uscc",
                &[format!("{}%", division.significant_prefix()).into()],
            )?;
            let mut matched = Vec::new();
            for r in &rows {
                let (uscc, name) = (r.str(0)?, r.str(1)?);
                let body: Value = serde_json::from_str(&r.str(3)?).unwrap_or(Value::Null);
                if let Some(q) = &query {
                    if !matches(q, &uscc, &name, &body) {
                        continue;
                    }
                }
                matched.push((uscc, name, r.str(2)?, body, r.int(4)? != 0, r.text(5)?));
            }
            let total = matched.len();
            let mut out = Vec::with_capacity(total.min(limit));
            for (uscc, name, village_code, body, tenant, village_name) in
                matched.into_iter().take(limit)
            {
                out.push(row(
                    t,
                    uscc,
                    name,
                    village_code,
                    village_name,
                    &body,
                    tenant,
                )?);
            }
            Ok(EnterprisePage { total, rows: out })
        })
    }
}

fn row(
    t: &mut dyn Tx,
    uscc: String,
    name: String,
    village_code: String,
    village_name: Option<String>,
    body: &Value,
    tenant: bool,
) -> Result<EnterpriseRow, StoreError> {
    let register = crate::facts::effective_body(t, &uscc, body)?;
    let visits = t
        .query_opt(
            "SELECT MAX(finalized_at), COUNT(*) FROM inspection WHERE enterprise_uscc = $1",
            &[uscc.clone().into()],
        )?
        .ok_or_else(|| StoreError::Corrupt("an aggregate answered no row".into()))?;
    let open = t
        .query_opt(
            "SELECT COUNT(*) FROM hazard WHERE enterprise_uscc = $1
               AND COALESCE(status, 'found') <> 'closed'",
            &[uscc.clone().into()],
        )?
        .ok_or_else(|| StoreError::Corrupt("an aggregate answered no row".into()))?;
    Ok(EnterpriseRow {
        register,
        last_visit: visits.text(0)?,
        inspections: visits.int(1)?,
        open_hazards: open.int(0)?,
        uscc,
        name,
        village_code,
        village_name,
        tenant,
    })
}

/// The phone's matching rules: a USCC prefix, pinyin (full or initials, also Latin
/// letters in the name), or a substring of name or address.
fn matches(q: &SearchQuery, uscc: &str, name: &str, body: &Value) -> bool {
    match q.kind {
        QueryKind::UsccPrefix => uscc.starts_with(&q.text),
        QueryKind::Pinyin => {
            let keys = gridwalk_core::pinyin_keys::pinyin_keys(name);
            name.to_lowercase().contains(&q.text)
                || keys
                    .full
                    .iter()
                    .chain(keys.initials.iter())
                    .any(|k| k.contains(&q.text))
        }
        QueryKind::Substring => {
            name.to_lowercase().contains(&q.text)
                || body
                    .get("address")
                    .and_then(|a| a.as_str())
                    .is_some_and(|a| a.to_lowercase().contains(&q.text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_the_phone() {
        let body = serde_json::json!({"address": "常州市金坛区西城街道金城路1号"});
        let name = "金坛新城铝业抛光有限公司";
        let uscc = "91320413MA1GW00017";
        let q = |s: &str| SearchQuery::parse(s).expect("query");
        assert!(matches(&q("jtxclypg"), uscc, name, &body));
        assert!(matches(&q("jintan"), uscc, name, &body));
        assert!(matches(&q("9132041"), uscc, name, &body));
        assert!(matches(&q("金城路"), uscc, name, &body));
        assert!(matches(&q("铝业"), uscc, name, &body));
        assert!(!matches(&q("xyz"), uscc, name, &body));
        assert!(!matches(&q("9132042"), uscc, name, &body));
        assert!(!matches(&q("钢铁"), uscc, name, &body));
    }
}
