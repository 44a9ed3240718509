//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// Test data root: `$GRIDWALK_TESTDATA`, else `<crate>/../../../shared/testdata`.
pub fn testdata_dir() -> PathBuf {
    match std::env::var_os("GRIDWALK_TESTDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    }
}

/// Reads a test data file, panicking with a helpful message (tests only).
pub fn read_testdata(rel: &str) -> Vec<u8> {
    let p = testdata_dir().join(rel);
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set GRIDWALK_TESTDATA?)", p.display()))
}

/// Tiny deterministic PRNG (xorshift64*), so failures are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Minimal CSV line splitter with double-quote support.
pub fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}
