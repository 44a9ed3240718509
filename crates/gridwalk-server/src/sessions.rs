//! Console sign-in (docs/console.md "Sign-in"): officer and admin passwords, sessions
//! with an idle and an absolute expiry, the CSRF token of a session, and the throttle
//! that slows and then locks repeated failures for a user name.

use crate::db::Tx;
use crate::error::StoreError;
use crate::password::{LOCK_AFTER_FAILURES, LOCK_MINUTES, SESSION_HOURS, SESSION_IDLE_MINUTES};
use crate::store::{now, problem, random_token, ts, Caller, Store};
use chrono::{DateTime, Duration, Utc};
use gridwalk_core::DivisionCode;
use gridwalk_protocol::{sha256_hex, ProblemCode, Role};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// `POST /v1/login`: a console session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Bearer token for API clients. Absent when the session travels in the
    /// `gw_session` cookie (`session_cookie: true`), which scripts cannot read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Send as `X-CSRF-Token` with every write authenticated by the cookie.
    pub csrf_token: String,
    /// Absolute end of the session.
    pub expires_at: String,
    /// The session also ends after this many minutes without a request.
    pub idle_minutes: i64,
    pub user_name: String,
    pub role: String,
    pub jurisdiction: String,
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong user name or password (the same answer for both); `failures` so far.
    #[error("wrong user name or password")]
    Refused { failures: i64 },
    /// Too many failures: locked for `seconds` more.
    #[error("too many failed sign-ins; try again in {seconds} s")]
    Locked { seconds: i64 },
    /// The right password of a user an administrator disabled.
    #[error("this user has been disabled by an administrator")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::db::DbError> for LoginError {
    fn from(e: crate::db::DbError) -> LoginError {
        LoginError::Store(e.into())
    }
}

/// The CSRF token of a session: derived from the session token (which only the
/// browser's HttpOnly cookie holds), so the server stores nothing more and a page of
/// another site can neither read nor compute it.
pub fn csrf_token(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"gridwalk-csrf-v1:");
    h.update(session_token.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

impl Store {
    /// The caller of a console session token (its SHA-256 `hash`), refreshing its idle
    /// clock; an expired or idle session is deleted and refused.
    pub(crate) fn authenticate_session(&self, hash: &str) -> Result<Caller, StoreError> {
        let row = self
            .tx(|t| {
                t.query_opt(
                    "SELECT s.expires_at, u.name, u.role, u.jurisdiction, s.last_seen_at, s.created_at,
                            u.disabled_at
                     FROM user_session s JOIN app_user u ON u.id = s.user_id WHERE s.token_hash = $1",
                    &[hash.into()],
                )
                .map_err(StoreError::from)
            })?
            .ok_or_else(|| problem(ProblemCode::Unauthenticated, "unknown token"))?;
        let at = now();
        let expires = parse_ts(&row.str(0)?)?;
        let seen = parse_ts(&row.text(4)?.unwrap_or(row.str(5)?))?;
        let idle = at - seen > Duration::minutes(SESSION_IDLE_MINUTES);
        // Disabling ends the user's sessions; one that slipped in meanwhile ends here.
        let disabled = row.text(6)?.is_some();
        if expires < at || idle || disabled {
            self.tx(|t| {
                t.exec(
                    "DELETE FROM user_session WHERE token_hash = $1",
                    &[hash.into()],
                )?;
                Ok(())
            })?;
            if disabled {
                return Err(problem(
                    ProblemCode::AccountDisabled,
                    "this user has been disabled by an administrator",
                ));
            }
            return Err(problem(
                ProblemCode::Unauthenticated,
                if idle {
                    "the session ended after a while without use; sign in again"
                } else {
                    "the session has expired; sign in again"
                },
            ));
        }
        // One write a minute at most per session, not one per request.
        if at - seen > Duration::minutes(1) {
            self.tx(|t| {
                t.exec(
                    "UPDATE user_session SET last_seen_at = $2 WHERE token_hash = $1",
                    &[hash.into(), ts(at).into()],
                )?;
                Ok(())
            })?;
        }
        Ok(Caller {
            device_id: uuid::Uuid::nil(),
            user_name: row.str(1)?,
            role: Role::parse(&row.str(2)?)
                .ok_or_else(|| StoreError::Corrupt("bad role".into()))?,
            jurisdiction: DivisionCode::parse(&row.str(3)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            session: true,
            source: String::new(),
        })
    }

    /// Sets (or replaces) a user's password, stored as an argon2id PHC string. Only
    /// officers and admins sign in with a password; phones use device tokens.
    pub fn set_password(&self, user_name: &str, password: &str) -> Result<(), StoreError> {
        let hash = crate::password::hash(password)?;
        self.tx(|t| {
            let row = t
                .query_opt("SELECT role FROM app_user WHERE name = $1", &[user_name.into()])?
                .ok_or_else(|| StoreError::Invalid(format!("no user named '{user_name}'")))?;
            if !matches!(Role::parse(&row.str(0)?), Some(Role::Officer | Role::Admin)) {
                return Err(StoreError::Invalid(format!(
                    "'{user_name}' is a {}: only officers and admins sign in with a password",
                    row.str(0)?
                )));
            }
            t.exec(
                "UPDATE app_user SET password_hash = $2 WHERE name = $1",
                &[user_name.into(), hash.clone().into()],
            )?;
            // Sessions opened with the old password end; a lock is lifted.
            t.exec(
                "DELETE FROM user_session WHERE user_id = (SELECT id FROM app_user WHERE name = $1)",
                &[user_name.into()],
            )?;
            t.exec(
                "DELETE FROM login_throttle WHERE user_name = $1",
                &[user_name.into()],
            )?;
            Ok(())
        })
    }

    /// Signs an officer or admin in: a new session token valid for [`SESSION_HOURS`]
    /// (and [`SESSION_IDLE_MINUTES`] without use). Unknown user and wrong password give
    /// the same answer (and take the same time). Each attempt is counted *before* the
    /// password is checked, in the transaction that checks the lock, so parallel guesses
    /// cannot outrun it: at most [`LOCK_AFTER_FAILURES`] attempts in a row within
    /// [`LOCK_MINUTES`] are checked for a name, known or not; then it is locked for
    /// [`LOCK_MINUTES`]. A success clears the count. `replaces`: the session the browser
    /// held before, ended on success (the session is rotated at sign-in).
    pub fn login(
        &self,
        user_name: &str,
        password: &str,
        replaces: Option<&str>,
    ) -> Result<(LoginResponse, String), LoginError> {
        if user_name.chars().count() > MAX_USER_NAME_CHARS {
            return Err(LoginError::Store(problem(
                ProblemCode::MalformedBody,
                format!("a user name has at most {MAX_USER_NAME_CHARS} characters"),
            )));
        }
        let at = now();
        let (user, attempt) = self.tx(|t| {
            let attempt = reserve_attempt(t, user_name, at)?;
            let user = t.query_opt(
                "SELECT id, role, jurisdiction, password_hash, disabled_at FROM app_user WHERE name = $1",
                &[user_name.into()],
            )?;
            Ok((user, attempt))
        })?;
        let failures = match attempt {
            Attempt::Locked { seconds } => return Err(LoginError::Locked { seconds }),
            Attempt::Allowed { failures_before } => failures_before + 1,
        };
        let stored = match &user {
            Some(r) => r.text(3)?,
            None => None,
        };
        let user = match user {
            Some(u) if crate::password::verify(password, stored.as_deref()) => u,
            _ => {
                tracing::info!(user = user_name, failures, "sign-in refused");
                return Err(if failures >= LOCK_AFTER_FAILURES {
                    LoginError::Locked {
                        seconds: LOCK_MINUTES * 60,
                    }
                } else {
                    LoginError::Refused { failures }
                });
            }
        };
        // Said only to whoever knows the password, so it reveals no more than a
        // success would.
        if user.text(4)?.is_some() {
            tracing::info!(user = user_name, "sign-in of a disabled user refused");
            return Err(LoginError::Disabled);
        }
        if let Some(old) = replaces {
            self.logout(old)?;
        }
        let token = random_token(32);
        let expires = at + Duration::hours(SESSION_HOURS);
        let user_id = user.str(0)?;
        self.tx(|t| {
            t.exec(
                "DELETE FROM user_session WHERE expires_at < $1",
                &[ts(at).into()],
            )?;
            t.exec(
                "DELETE FROM login_throttle WHERE user_name = $1",
                &[user_name.into()],
            )?;
            t.exec(
                "INSERT INTO user_session (token_hash, user_id, created_at, expires_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $3)",
                &[
                    sha256_hex(token.as_bytes()).into(),
                    user_id.clone().into(),
                    ts(at).into(),
                    ts(expires).into(),
                ],
            )?;
            Ok(())
        })?;
        Ok((
            LoginResponse {
                token: Some(token.clone()),
                csrf_token: csrf_token(&token),
                expires_at: ts(expires),
                idle_minutes: SESSION_IDLE_MINUTES,
                user_name: user_name.to_string(),
                role: user.str(1)?,
                jurisdiction: user.str(2)?,
            },
            token,
        ))
    }

    /// Ends every console session of a user (an officer who leaves, a lost laptop);
    /// how many ended.
    pub fn revoke_sessions(&self, user_name: &str) -> Result<u64, StoreError> {
        self.tx(|t| {
            t.query_opt("SELECT 1 FROM app_user WHERE name = $1", &[user_name.into()])?
                .ok_or_else(|| StoreError::Invalid(format!("no user named '{user_name}'")))?;
            Ok(t.exec(
                "DELETE FROM user_session WHERE user_id = (SELECT id FROM app_user WHERE name = $1)",
                &[user_name.into()],
            )?)
        })
    }

    /// Disables a user at once, in one transaction: every console session of theirs
    /// ends, they cannot sign in, and their devices' tokens are refused
    /// (`account_disabled`) until [`Store::enable_user`]. Disabling a disabled user
    /// keeps the first time. `None` if there is no such user.
    pub fn disable_user(&self, user_name: &str) -> Result<Option<Disabled>, StoreError> {
        let at = ts(now());
        self.tx(|t| {
            let Some(row) = t.query_opt(
                "SELECT id FROM app_user WHERE name = $1",
                &[user_name.into()],
            )?
            else {
                return Ok(None);
            };
            let id = row.str(0)?;
            t.exec(
                "UPDATE app_user SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
                &[id.clone().into(), at.clone().into()],
            )?;
            let sessions_ended = t.exec(
                "DELETE FROM user_session WHERE user_id = $1",
                &[id.clone().into()],
            )?;
            let devices = t
                .query_opt(
                    "SELECT count(*) FROM device WHERE user_id = $1 AND revoked_at IS NULL",
                    &[id.into()],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            Ok(Some(Disabled {
                sessions_ended,
                devices_refused: devices as u64,
            }))
        })
    }

    /// Lets a disabled user sign in again, and their devices that were not revoked sync
    /// again. False if there is no such user.
    pub fn enable_user(&self, user_name: &str) -> Result<bool, StoreError> {
        self.tx(|t| {
            if t.query_opt(
                "SELECT 1 FROM app_user WHERE name = $1",
                &[user_name.into()],
            )?
            .is_none()
            {
                return Ok(false);
            }
            t.exec(
                "UPDATE app_user SET disabled_at = NULL WHERE name = $1",
                &[user_name.into()],
            )?;
            Ok(true)
        })
    }

    /// Ends a console session.
    pub fn logout(&self, token: &str) -> Result<(), StoreError> {
        let hash = sha256_hex(token.as_bytes());
        self.tx(|t| {
            t.exec(
                "DELETE FROM user_session WHERE token_hash = $1",
                &[hash.clone().into()],
            )?;
            Ok(())
        })
    }
}

/// What [`Store::disable_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Disabled {
    /// Console sessions that ended.
    pub sessions_ended: u64,
    /// Enrolled devices (not revoked) whose tokens are now refused.
    pub devices_refused: u64,
}

/// Longest user name a sign-in is checked for (longer: refused before the database).
pub const MAX_USER_NAME_CHARS: usize = 64;

/// Whether a sign-in attempt may check its password.
enum Attempt {
    Locked { seconds: i64 },
    Allowed { failures_before: i64 },
}

/// Counts an attempt for `user_name` before its password is checked (a success deletes
/// the row): refused while locked; the attempt that reaches [`LOCK_AFTER_FAILURES`]
/// sets the lock, so it is the last one checked. A count older than the lock period,
/// or one whose lock has passed, restarts; stale rows of any name are swept.
fn reserve_attempt(
    t: &mut dyn Tx,
    user_name: &str,
    at: DateTime<Utc>,
) -> Result<Attempt, StoreError> {
    let now_ts = ts(at);
    t.exec(
        "DELETE FROM login_throttle WHERE last_failure_at < $1
           AND (locked_until IS NULL OR locked_until < $2)",
        &[
            ts(at - Duration::minutes(LOCK_MINUTES)).into(),
            now_ts.clone().into(),
        ],
    )?;
    let prev = t.query_opt(
        "SELECT failures, locked_until FROM login_throttle WHERE user_name = $1",
        &[user_name.into()],
    )?;
    let (mut failures_before, locked_until) = match &prev {
        Some(r) => (r.int(0)?, r.text(1)?),
        None => (0, None),
    };
    if let Some(until) = locked_until {
        let until = parse_ts(&until)?;
        if until > at {
            return Ok(Attempt::Locked {
                seconds: (until - at).num_seconds().max(1),
            });
        }
        // The lock has passed: a new count.
        failures_before = 0;
    }
    let failures = failures_before + 1;
    let locked =
        (failures >= LOCK_AFTER_FAILURES).then(|| ts(at + Duration::minutes(LOCK_MINUTES)));
    t.exec(
        "DELETE FROM login_throttle WHERE user_name = $1",
        &[user_name.into()],
    )?;
    t.exec(
        "INSERT INTO login_throttle (user_name, failures, last_failure_at, locked_until)
         VALUES ($1, $2, $3, $4)",
        &[
            user_name.into(),
            failures.into(),
            now_ts.into(),
            match locked {
                Some(u) => u.into(),
                None => crate::db::Val::Null,
            },
        ],
    )?;
    Ok(Attempt::Allowed { failures_before })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_protocol::Role;

    #[test]
    fn csrf_token_depends_on_the_session() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a").len(), 64);
    }

    fn store_with_officer() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::db::SqliteBackend::open(&dir.path().join("s.db")).expect("db");
        let store = Store::new(Box::new(db)).expect("store");
        let town = DivisionCode::parse("320413100000").expect("code");
        store
            .create_user("科长", Role::Officer, &town)
            .expect("user");
        store
            .set_password("科长", "金坛区-粉尘-2026")
            .expect("password");
        (dir, store)
    }

    fn age(store: &Store, column: &str, minutes: i64) {
        let then = ts(now() - Duration::minutes(minutes));
        store
            .tx(|t| {
                t.exec(
                    &format!("UPDATE user_session SET {column} = $1"),
                    &[then.clone().into()],
                )?;
                Ok(())
            })
            .expect("age");
    }

    fn detail(r: Result<Caller, StoreError>) -> String {
        match r {
            Err(StoreError::Problem { code, detail }) => {
                assert_eq!(code, ProblemCode::Unauthenticated);
                detail
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_session_ends_after_an_idle_hour_and_a_used_one_stays() {
        let (_dir, store) = store_with_officer();
        let (_, token) = store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("login");
        age(&store, "last_seen_at", SESSION_IDLE_MINUTES - 5);
        // Used within the hour: it lives on, and its idle clock restarts.
        store.authenticate(&token).expect("still signed in");
        age(&store, "last_seen_at", SESSION_IDLE_MINUTES - 5);
        store.authenticate(&token).expect("still signed in");
        age(&store, "last_seen_at", SESSION_IDLE_MINUTES + 1);
        assert!(detail(store.authenticate(&token)).contains("without use"));
        // Deleted, not only refused.
        assert_eq!(detail(store.authenticate(&token)), "unknown token");
    }

    #[test]
    fn a_session_ends_at_its_absolute_expiry_even_when_used() {
        let (_dir, store) = store_with_officer();
        let (_, token) = store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("login");
        age(&store, "expires_at", 1);
        assert!(detail(store.authenticate(&token)).contains("expired"));
    }

    #[test]
    fn signing_in_again_ends_the_session_it_replaces() {
        let (_dir, store) = store_with_officer();
        let (_, first) = store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("login");
        let (_, second) = store
            .login("科长", "金坛区-粉尘-2026", Some(&first))
            .expect("login");
        assert_ne!(first, second);
        assert_eq!(detail(store.authenticate(&first)), "unknown token");
        store.authenticate(&second).expect("the new one works");
    }

    #[test]
    fn failures_lock_a_name_until_the_lock_passes_and_a_success_resets_them() {
        let (_dir, store) = store_with_officer();
        for n in 1..LOCK_AFTER_FAILURES {
            match store.login("科长", "wrong-password", None) {
                Err(LoginError::Refused { failures }) => assert_eq!(failures, n),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            store.login("科长", "wrong-password", None),
            Err(LoginError::Locked { seconds }) if seconds == LOCK_MINUTES * 60
        ));
        // Locked: even the right password is refused, without being checked.
        assert!(matches!(
            store.login("科长", "金坛区-粉尘-2026", None),
            Err(LoginError::Locked { .. })
        ));
        // The lock passes.
        let past = ts(now() - Duration::seconds(1));
        store
            .tx(|t| {
                t.exec(
                    "UPDATE login_throttle SET locked_until = $1",
                    &[past.clone().into()],
                )?;
                Ok(())
            })
            .expect("unlock");
        store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("signed in");
        // A success resets the count.
        assert!(matches!(
            store.login("科长", "wrong-password", None),
            Err(LoginError::Refused { failures: 1 })
        ));
    }

    #[test]
    fn a_failed_sign_in_leaves_the_current_session_alone() {
        let (_dir, store) = store_with_officer();
        let (_, token) = store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("login");
        assert!(store.login("科长", "wrong", Some(&token)).is_err());
        store.authenticate(&token).expect("still signed in");
    }

    #[test]
    fn the_attempt_is_counted_before_the_password_is_checked() {
        let (_dir, store) = store_with_officer();
        for _ in 1..LOCK_AFTER_FAILURES {
            assert!(store.login("科长", "wrong", None).is_err());
        }
        // The last attempt allowed is checked, and a right password still signs in…
        store
            .login("科长", "金坛区-粉尘-2026", None)
            .expect("the fifth attempt");
        for _ in 0..LOCK_AFTER_FAILURES {
            assert!(store.login("科长", "wrong", None).is_err());
        }
        // …but once the count is reached, nothing more is checked until the lock passes.
        assert!(matches!(
            store.login("科长", "金坛区-粉尘-2026", None),
            Err(LoginError::Locked { .. })
        ));
    }

    #[test]
    fn over_long_names_are_refused_before_the_database() {
        let (_dir, store) = store_with_officer();
        let name = "名".repeat(MAX_USER_NAME_CHARS + 1);
        assert!(matches!(
            store.login(&name, "x", None),
            Err(LoginError::Store(StoreError::Problem {
                code: ProblemCode::MalformedBody,
                ..
            }))
        ));
        let rows = store
            .tx(|t| Ok(t.query("SELECT 1 FROM login_throttle", &[])?.len()))
            .expect("rows");
        assert_eq!(rows, 0);
    }

    #[test]
    fn unknown_names_are_counted_and_locked_like_known_ones() {
        let (_dir, store) = store_with_officer();
        for _ in 1..LOCK_AFTER_FAILURES {
            assert!(matches!(
                store.login("无此人", "x", None),
                Err(LoginError::Refused { .. })
            ));
        }
        assert!(matches!(
            store.login("无此人", "x", None),
            Err(LoginError::Locked { .. })
        ));
    }
}
