//! An in-memory index for one- and two-character queries.
//!
//! The trigram index cannot answer queries shorter than three characters, and a SQLite
//! scan of 100,000 rows costs 35-70 ms (row decoding dominates). Short queries instead
//! scan contiguous in-memory copies of the search columns with a SIMD substring search
//! (`memchr::memmem`), rank the matches in Rust and fetch only the top rows from SQLite.
//! The copy is built on the first short query and rebuilt when the register changed:
//! writes through this process bump [`GENERATION`]; commits by other connections change
//! `PRAGMA data_version`.

use crate::jurisdiction::Scope;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bumped by every write to the search table made by this process.
pub(crate) static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Marks cached search indexes stale.
pub(crate) fn invalidate() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// One searchable column: all rows' values joined by NUL, with each row's start offset.
#[derive(Debug, Default)]
struct Column {
    text: Vec<u8>,
    starts: Vec<usize>,
}

impl Column {
    fn push(&mut self, value: &str) {
        self.starts.push(self.text.len());
        self.text.extend_from_slice(value.as_bytes());
        self.text.push(0);
    }

    fn get(&self, row: usize) -> &[u8] {
        let start = self.starts[row];
        let end = self.starts.get(row + 1).map_or(self.text.len(), |e| *e) - 1;
        &self.text[start..end]
    }

    /// Adds to `out` the rows whose value contains `needle` and that are not yet `seen`.
    fn rows_containing(&self, needle: &[u8], seen: &mut [bool], out: &mut Vec<usize>) {
        // Match positions only grow, so the row cursor only moves forward.
        let mut row = 0;
        for pos in memchr::memmem::find_iter(&self.text, needle) {
            while row + 1 < self.starts.len() && self.starts[row + 1] <= pos {
                row += 1;
            }
            if let Some(flag) = seen.get_mut(row) {
                if !*flag {
                    *flag = true;
                    out.push(row);
                }
            }
        }
    }
}

/// In-memory copy of the search table.
#[derive(Debug, Default)]
pub(crate) struct ShortIndex {
    generation: u64,
    data_version: i64,
    rowids: Vec<i64>,
    name_chars: Vec<u32>,
    name: Column,
    address: Column,
    full: Column,
    initials: Column,
    /// The enterprise's village code (what a jurisdiction covers).
    village: Column,
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// True if one of the space-separated variants starts with `needle`.
fn variant_matches(variants: &[u8], needle: &[u8]) -> bool {
    variants
        .split(|&b| b == b' ')
        .any(|v| v.starts_with(needle))
}

impl ShortIndex {
    /// Whether this copy still reflects the database.
    pub(crate) fn is_current(&self, conn: &Connection) -> rusqlite::Result<bool> {
        Ok(self.generation == GENERATION.load(Ordering::SeqCst)
            && self.data_version == data_version(conn)?)
    }

    /// Loads the search table.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<ShortIndex> {
        let mut idx = ShortIndex {
            generation: GENERATION.load(Ordering::SeqCst),
            data_version: data_version(conn)?,
            ..Default::default()
        };
        let mut stmt = conn.prepare(
            "SELECT s.rowid, s.name, s.address, s.pinyin_full, s.pinyin_initials, s.name_chars, \
                 e.village_code \
             FROM enterprise_search s LEFT JOIN enterprise e ON e.id = s.enterprise_id \
             ORDER BY s.rowid",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            idx.rowids.push(r.get(0)?);
            idx.name.push(r.get_ref(1)?.as_str().unwrap_or(""));
            idx.address.push(r.get_ref(2)?.as_str().unwrap_or(""));
            // Only the default reading of the full pinyin: its heteronym variants triple the
            // bytes to scan, and for one or two letters the initials variants (kept) already
            // catch the other readings.
            let full = r.get_ref(3)?.as_str().unwrap_or("");
            idx.full.push(full.split(' ').next().unwrap_or(""));
            idx.initials.push(r.get_ref(4)?.as_str().unwrap_or(""));
            idx.name_chars
                .push(r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32);
            idx.village.push(r.get_ref(6)?.as_str().unwrap_or(""));
        }
        Ok(idx)
    }

    fn rank(&self, row: usize, needle: &[u8], pinyin: bool) -> i64 {
        let name = self.name.get(row);
        if pinyin {
            let ini = self.initials.get(row);
            let mut best = 15;
            for v in ini.split(|&b| b == b' ') {
                if v == needle {
                    return 10;
                }
                if v.starts_with(needle) {
                    best = 11;
                }
            }
            if best < 15 {
                return best;
            }
            let full = self.full.get(row);
            if variant_matches(full, needle) {
                12
            } else if contains(ini, needle) {
                13
            } else if contains(full, needle) {
                14
            } else {
                15
            }
        } else if name == needle {
            0
        } else if name.starts_with(needle) {
            1
        } else if contains(name, needle) {
            2
        } else {
            3
        }
    }

    /// Top `limit` matches as `(rowid, rank)`, ranked like the SQL path: for a substring,
    /// exact name 0, name prefix 1, name substring 2, address 3; for pinyin, exact
    /// initials 10, initials prefix 11, full prefix 12, initials substring 13, full
    /// substring 14, name substring 15. Ties: shorter name, then insertion order. Only
    /// rows whose village `scope` covers are considered.
    pub(crate) fn search(
        &self,
        q: &str,
        pinyin: bool,
        limit: usize,
        scope: &Scope,
    ) -> Vec<(i64, i64)> {
        let needle = q.as_bytes();
        let mut candidates = Vec::new();
        let mut seen = vec![false; self.rowids.len()];
        let columns: &[&Column] = if pinyin {
            &[&self.initials, &self.full, &self.name]
        } else {
            &[&self.name, &self.address]
        };
        for column in columns {
            column.rows_containing(needle, &mut seen, &mut candidates);
        }
        match scope.sql_params() {
            None => candidates.clear(),
            Some((None, _)) => {}
            // The prefix rule (the caller checks the hits it returns with the rule itself).
            Some((Some(prefix), grid_village)) => candidates.retain(|&row| {
                let v = self.village.get(row);
                v.starts_with(prefix.as_bytes())
                    || grid_village.as_deref().is_some_and(|g| v == g.as_bytes())
            }),
        }
        let mut ranked: Vec<(i64, u32, usize)> = candidates
            .into_iter()
            .map(|row| (self.rank(row, needle, pinyin), self.name_chars[row], row))
            .collect();
        // Ties go to the shorter name, then the earlier row: plain integer keys keep the
        // selection cheap when a short query matches most of the register.
        if ranked.len() > limit {
            ranked.select_nth_unstable(limit);
            ranked.truncate(limit);
        }
        ranked.sort_unstable();
        ranked
            .into_iter()
            .map(|(rank, _, row)| (self.rowids[row], rank))
            .collect()
    }
}
