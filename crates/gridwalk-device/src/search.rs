//! Enterprise search: Chinese substring of name or address, pinyin (full or initials)
//! and USCC prefix, ranked.
//!
//! Queries of three or more characters go through the FTS5 trigram index (substring
//! matching without a scan); shorter ones scan the compact search table. Ranking is
//! done in SQL so only the top `limit` rows leave SQLite: exact name, then name
//! prefix, then name substring, then address; for pinyin, exact initials, initials
//! prefix, full-pinyin prefix, then substrings; shorter names first on ties.

use crate::error::StoreError;
use crate::jurisdiction::{scope_sql, Scope};
use crate::short_index::ShortIndex;
use crate::store::Store;
use gridwalk_core::search::{QueryKind, SearchQuery};
use rusqlite::params;
use serde::Serialize;

/// Largest `limit` a caller may ask for.
pub const MAX_LIMIT: usize = 500;

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub village_code: String,
    pub village_name: Option<String>,
    pub address: Option<String>,
    /// How it matched: `name`, `address`, `pinyin` or `uscc`.
    pub matched: &'static str,
}

fn fts_phrase(columns: &str, text: &str) -> String {
    format!("{{{columns}}} : \"{}\"", text.replace('"', "\"\""))
}

/// The ranked rows in the jurisdiction (`?4`, `?5`: [`Scope::sql_params`]), best first.
fn select_hit() -> String {
    format!(
        "SELECT e.id, e.name, e.uscc, e.village_code, d.name, e.address, r.rank \
         FROM ranked r JOIN enterprise e ON e.id = r.enterprise_id \
         LEFT JOIN division d ON d.code = e.village_code WHERE {} \
         ORDER BY r.rank, r.name_chars, e.name LIMIT ?3",
        scope_sql("?4", "?5")
    )
}

impl Store {
    /// Runs a search-box query over the whole register; at most `limit` hits (capped
    /// at [`MAX_LIMIT`]).
    pub fn search_enterprises(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        self.search_enterprises_in(query, limit, None)
    }

    /// Runs a search-box query over the enterprises a jurisdiction covers (the whole
    /// register when `None`, see [`crate::jurisdiction`]); at most `limit` hits (capped
    /// at [`MAX_LIMIT`]), ranked as [`Store::search_enterprises`] ranks them.
    pub fn search_enterprises_in(
        &self,
        query: &str,
        limit: usize,
        jurisdiction: Option<&str>,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let q = SearchQuery::parse(query)?;
        let scope = Scope::of(jurisdiction);
        let Some((prefix, village)) = scope.sql_params() else {
            return Ok(Vec::new());
        };
        let long = q.text.chars().count() >= 3;
        if !long && q.kind != QueryKind::UsccPrefix {
            return self.search_short(&q, limit.clamp(1, MAX_LIMIT), &scope);
        }
        let limit = limit.clamp(1, MAX_LIMIT) as i64;
        let sql = match q.kind {
            // Codes sort as text: walk the unique index from the prefix and stop at `limit`.
            QueryKind::UsccPrefix => format!(
                "SELECT e.id, e.name, e.uscc, e.village_code, d.name, e.address, 0 \
                 FROM enterprise e LEFT JOIN division d ON d.code = e.village_code \
                 WHERE e.uscc >= ?1 AND e.uscc < ?1 || '~' AND ?2 = ?2 AND {} \
                 ORDER BY e.uscc LIMIT ?3",
                scope_sql("?4", "?5")
            ),
            QueryKind::Substring => {
                let filter = if long {
                    "s.rowid IN (SELECT rowid FROM enterprise_fts WHERE enterprise_fts MATCH ?2)"
                } else {
                    "(instr(s.name, ?1) > 0 OR instr(s.address, ?1) > 0) AND ?2 = ?2"
                };
                format!(
                    "WITH ranked AS (SELECT s.enterprise_id, s.name_chars, \
                         CASE WHEN s.name = ?1 THEN 0 WHEN substr(s.name, 1, length(?1)) = ?1 THEN 1 \
                              WHEN instr(s.name, ?1) > 0 THEN 2 ELSE 3 END AS rank \
                         FROM enterprise_search s WHERE {filter}) {}",
                    select_hit()
                )
            }
            QueryKind::Pinyin => {
                let filter = if long {
                    "s.rowid IN (SELECT rowid FROM enterprise_fts WHERE enterprise_fts MATCH ?2)"
                } else {
                    "(instr(s.pinyin_initials, ?1) > 0 OR instr(s.pinyin_full, ?1) > 0 \
                      OR instr(s.name, ?1) > 0) AND ?2 = ?2"
                };
                format!(
                    "WITH ranked AS (SELECT s.enterprise_id, s.name_chars, \
                         CASE WHEN instr(' ' || s.pinyin_initials || ' ', ' ' || ?1 || ' ') > 0 THEN 10 \
                              WHEN instr(' ' || s.pinyin_initials, ' ' || ?1) > 0 THEN 11 \
                              WHEN instr(' ' || s.pinyin_full, ' ' || ?1) > 0 THEN 12 \
                              WHEN instr(s.pinyin_initials, ?1) > 0 THEN 13 \
                              WHEN instr(s.pinyin_full, ?1) > 0 THEN 14 \
                              WHEN instr(s.name, ?1) > 0 THEN 15 ELSE 16 END AS rank \
                         FROM enterprise_search s WHERE {filter}) {}",
                    select_hit()
                )
            }
        };
        let fts = match q.kind {
            QueryKind::Substring => fts_phrase("name address", &q.text),
            QueryKind::Pinyin => fts_phrase("pinyin_full pinyin_initials name", &q.text),
            QueryKind::UsccPrefix => String::new(),
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![q.text, fts, limit, prefix, village], |r| {
            let rank: i64 = r.get(6)?;
            Ok(SearchHit {
                id: r.get(0)?,
                name: r.get(1)?,
                uscc: r.get(2)?,
                village_code: r.get(3)?,
                village_name: r.get(4)?,
                address: r.get(5)?,
                matched: match (q.kind, rank) {
                    (QueryKind::UsccPrefix, _) => "uscc",
                    (QueryKind::Pinyin, _) => "pinyin",
                    (_, 3) => "address",
                    _ => "name",
                },
            })
        })?;
        let mut hits = rows.collect::<Result<Vec<_>, _>>()?;
        // The SQL range is the prefix rule; this is the rule itself.
        hits.retain(|h| scope.covers(&h.village_code));
        Ok(hits)
    }

    /// One- and two-character queries, answered from the in-memory copy.
    fn search_short(
        &self,
        q: &SearchQuery,
        limit: usize,
        scope: &Scope,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let mut cache = self.short_index.borrow_mut();
        let current = match cache.as_ref() {
            Some(idx) => idx.is_current(&self.conn)?,
            None => false,
        };
        if !current {
            *cache = Some(ShortIndex::load(&self.conn)?);
        }
        let Some(idx) = cache.as_ref() else {
            return Ok(Vec::new());
        };
        let pinyin = q.kind == QueryKind::Pinyin;
        let top = idx.search(&q.text, pinyin, limit, scope);
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.name, e.uscc, e.village_code, d.name, e.address \
             FROM enterprise_search s JOIN enterprise e ON e.id = s.enterprise_id \
             LEFT JOIN division d ON d.code = e.village_code WHERE s.rowid = ?1",
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (rowid, rank) in top {
            let hit = stmt.query_row([rowid], |r| {
                Ok(SearchHit {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    uscc: r.get(2)?,
                    village_code: r.get(3)?,
                    village_name: r.get(4)?,
                    address: r.get(5)?,
                    matched: match (pinyin, rank) {
                        (true, _) => "pinyin",
                        (false, 3) => "address",
                        _ => "name",
                    },
                })
            })?;
            if scope.covers(&hit.village_code) {
                hits.push(hit);
            }
        }
        Ok(hits)
    }
}
