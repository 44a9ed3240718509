//! Officer and admin passwords: argon2id (the `argon2` crate's defaults, RFC 9106's
//! second recommended option: 19 MiB, 2 passes, 1 lane), stored as PHC strings so the
//! parameters travel with each hash and can be raised later.

use crate::error::StoreError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

/// Shortest password accepted.
pub const MIN_CHARS: usize = 10;
/// Longest password accepted (hashing cost is linear in length).
pub const MAX_CHARS: usize = 256;
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;
/// A console session also ends after this long without a request.
pub const SESSION_IDLE_MINUTES: i64 = 60;
/// Failed sign-ins in a row (within [`LOCK_MINUTES`]) that lock a user name.
pub const LOCK_AFTER_FAILURES: i64 = 5;
/// How long a locked user name stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// Failures after which each further wrong answer is delayed (one more second each,
/// at most [`MAX_FAILURE_DELAY_SECS`]).
pub const SLOW_AFTER_FAILURES: i64 = 2;
/// Longest delay of a wrong answer.
pub const MAX_FAILURE_DELAY_SECS: i64 = 3;

/// Argon2 runs at most this many at once (19 MiB each): a flood of sign-in attempts
/// waits its turn instead of taking the server's memory. Per-user and per-address
/// throttling of everything else belong to the rate limits (issue 15); sign-in failures
/// per user name are throttled by `crate::sessions`.
const MAX_CONCURRENT: usize = 2;

/// A counting semaphore for the blocking threads that hash.
struct Slots {
    used: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

static SLOTS: Slots = Slots {
    used: std::sync::Mutex::new(0),
    freed: std::sync::Condvar::new(),
};

/// Runs `f` once a hashing slot is free.
fn with_slot<R>(f: impl FnOnce() -> R) -> R {
    {
        let mut used = SLOTS.used.lock().unwrap_or_else(|p| p.into_inner());
        while *used >= MAX_CONCURRENT {
            used = SLOTS.freed.wait(used).unwrap_or_else(|p| p.into_inner());
        }
        *used += 1;
    }
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            let mut used = SLOTS.used.lock().unwrap_or_else(|p| p.into_inner());
            *used = used.saturating_sub(1);
            SLOTS.freed.notify_one();
        }
    }
    let _release = Release;
    f()
}

/// Hashes a new password after checking its length.
pub fn hash(password: &str) -> Result<String, StoreError> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(StoreError::Invalid(format!(
            "a password needs at least {MIN_CHARS} characters"
        )));
    }
    if n > MAX_CHARS {
        return Err(StoreError::Invalid(format!(
            "a password has at most {MAX_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    with_slot(|| {
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    })
}

/// A fixed hash checked when the user is unknown or has no password, so a refusal
/// takes as long either way.
const DUMMY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Z3JpZHdhbGtkdW1teQ$3oBQ8VSQ2XZFBs8QJ5jqg2aL7ZT5CjcWUkBd0ABsTzU";

/// True if `password` matches `stored` (a PHC string); false without one.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    if password.chars().count() > MAX_CHARS {
        return false;
    }
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = with_slot(|| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_and_another_does_not() {
        let h = hash("长江路12号-secret").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify("长江路12号-secret", Some(&h)));
        assert!(!verify("长江路12号-secreT", Some(&h)));
        assert!(!verify("长江路12号-secret", None));
        assert!(!verify("x", Some("not a phc string")));
        // Two hashes of one password differ (salted).
        assert_ne!(h, hash("长江路12号-secret").expect("hash"));
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(hash("short").is_err());
        assert!(hash(&"x".repeat(MAX_CHARS + 1)).is_err());
        assert!(!verify(&"x".repeat(10_000), Some(DUMMY)));
    }

    #[test]
    fn verifications_at_once_wait_for_a_slot_and_all_answer() {
        let h = hash("并发校验的口令-0123").expect("hash");
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let h = h.clone();
                std::thread::spawn(move || {
                    verify(
                        if i % 2 == 0 {
                            "并发校验的口令-0123"
                        } else {
                            "wrong-password"
                        },
                        Some(&h),
                    )
                })
            })
            .collect();
        let answers: Vec<bool> = threads
            .into_iter()
            .map(|t| t.join().unwrap_or(false))
            .collect();
        assert_eq!(answers, [true, false, true, false, true, false]);
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY).is_ok());
    }
}
