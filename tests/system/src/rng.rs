//! Seeded randomness for the fault and kill tests: SplitMix64 (the same seed gives the
//! same sequence on every platform and crate version), so a printed seed reproduces a
//! run's decisions.

/// The demo register's SplitMix64 generator: one implementation for both.
pub use gridwalk_demo::Rng;

/// The seed of a test run: `$GRIDWALK_SEED` (decimal or `0x` hex) if set, else one
/// drawn from the clock. Printed with the test's name so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("GRIDWALK_SEED") {
        Ok(s) => {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            }
            .unwrap_or_else(|_| panic!("GRIDWALK_SEED={s} is not a number"))
        }
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970");
            Rng::new(t.as_nanos() as u64 ^ u64::from(std::process::id())).next_u64()
        }
    };
    eprintln!("[{test}] seed {seed:#018x} (replay: GRIDWALK_SEED={seed:#x})");
    seed
}
