//! The register as an officer reads it (docs/console.md "企业"): each enterprise of a
//! division with the facts confirmed on visits applied (who, when, from which
//! inspection), its last visit and its open hazards; searched as the phone searches
//! (USCC prefix, pinyin full or initials, or a substring of name or address).

use crate::error::StoreError;
use crate::store::{problem, Store};
use crate::work::Actor;
use gridwalk_core::search::{QueryKind, SearchQuery};
use gridwalk_core::DivisionCode;
use gridwalk_protocol::ProblemCode;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

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
        let prefix = format!("{}%", division.significant_prefix());
        self.tx(|t| {
            // The bodies are read for the page only, unless a substring query must look
            // at every address.
            let by_address = query
                .as_ref()
                .is_some_and(|q| q.kind == QueryKind::Substring);
            let rows = t.query(
                &format!(
                    "SELECT e.uscc, COALESCE(e.name, ''), e.village_code, {}, COALESCE(e.tenant, 0),
                            d.name
                     FROM enterprise e LEFT JOIN division d ON d.code = e.village_code
                     WHERE e.village_code LIKE $1
                     ORDER BY e.village_code, e.uscc",
                    if by_address { "e.body" } else { "''" }
                ),
                &[prefix.clone().into()],
            )?;
            let mut total = 0;
            let mut page = Vec::new();
            for r in &rows {
                let (uscc, name) = (r.str(0)?, r.str(1)?);
                let hit = match &query {
                    None => true,
                    // Only a substring query reads the address (and so the body).
                    Some(q) if q.kind == QueryKind::Substring => {
                        let body: Value = serde_json::from_str(&r.str(3)?).unwrap_or(Value::Null);
                        matches(q, &uscc, &name, &body)
                    }
                    Some(q) => matches(q, &uscc, &name, &Value::Null),
                };
                if !hit {
                    continue;
                }
                total += 1;
                if page.len() < limit {
                    page.push((uscc, name, r.str(2)?, r.str(3)?, r.int(4)? != 0, r.text(5)?));
                }
            }
            // Visits and open hazards of the division at once, not per row.
            let mut visits: HashMap<String, (Option<String>, i64)> = HashMap::new();
            for r in t.query(
                "SELECT enterprise_uscc, MAX(finalized_at), COUNT(*) FROM inspection
                 WHERE division_code LIKE $1 GROUP BY enterprise_uscc",
                &[prefix.clone().into()],
            )? {
                visits.insert(r.str(0)?, (r.text(1)?, r.int(2)?));
            }
            let mut open: HashMap<String, i64> = HashMap::new();
            for r in t.query(
                "SELECT enterprise_uscc, COUNT(*) FROM hazard
                 WHERE division_code LIKE $1 AND COALESCE(status, 'found') <> 'closed'
                 GROUP BY enterprise_uscc",
                &[prefix.clone().into()],
            )? {
                open.insert(r.str(0)?, r.int(1)?);
            }
            let mut out = Vec::with_capacity(page.len());
            for (uscc, name, village_code, body, tenant, village_name) in page {
                let body = if by_address {
                    body
                } else {
                    t.query_opt(
                        "SELECT body FROM enterprise WHERE uscc = $1",
                        &[uscc.clone().into()],
                    )?
                    .map(|r| r.str(0))
                    .transpose()?
                    .unwrap_or_default()
                };
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let register = crate::facts::effective_body(t, &uscc, &body)?;
                let (last_visit, inspections) = visits.remove(&uscc).unwrap_or((None, 0));
                out.push(EnterpriseRow {
                    register,
                    last_visit,
                    inspections,
                    open_hazards: open.get(&uscc).copied().unwrap_or(0),
                    uscc,
                    name,
                    village_code,
                    village_name,
                    tenant,
                });
            }
            Ok(EnterprisePage { total, rows: out })
        })
    }
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
