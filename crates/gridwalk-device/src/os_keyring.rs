//! The database key in the operating system's keyring (docs/security.md "The phone's
//! database"), through the `keyring` crate: the Secret Service on Linux desktops (GNOME
//! Keyring, KWallet), the Keychain on macOS, the Credential Manager on Windows.
//!
//! One entry a database: service [`SERVICE`], user the database file's canonical path
//! (so two databases never share a key), the key as its 64 hex characters. A key file
//! left beside the database — by an earlier release, or while no keyring answered — is
//! moved into the keyring the first time one answers: kept there, read back and
//! compared, and only then removed, so a kill at any instant leaves the key in at least
//! one place and never two different keys.

use crate::db_key::{key_opens, DbKey, KeyFile, KeyStore};
use std::path::{Path, PathBuf};

/// The keyring service name of every GridWalk database key.
pub const SERVICE: &str = "gridwalk";

/// The keyring entry of one database, with its key file as the place a key may still
/// have to be moved from.
pub struct OsKeyring {
    entry: keyring::Entry,
    user: String,
    db: PathBuf,
    file: KeyFile,
}

impl std::fmt::Debug for OsKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsKeyring")
            .field("user", &self.user)
            .finish()
    }
}

impl OsKeyring {
    /// The keyring entry of the database at `db` (which need not exist yet), if the
    /// platform's keyring answers now; else why not, for the log.
    pub fn answering(db: &Path) -> Result<OsKeyring, String> {
        #[cfg(target_os = "linux")]
        secret_service_answers()?;
        OsKeyring::for_database(db)
    }

    /// The keyring entry of the database at `db`, without asking whether the keyring
    /// answers.
    pub fn for_database(db: &Path) -> Result<OsKeyring, String> {
        let user = canonical_name(db)?;
        let entry = keyring::Entry::new(SERVICE, &user)
            .map_err(|e| format!("no keyring entry for {user}: {e}"))?;
        Ok(OsKeyring {
            entry,
            user,
            db: db.to_path_buf(),
            file: KeyFile::beside(db),
        })
    }

    /// The key in the keyring entry alone (not the key file).
    pub fn load_entry(&self) -> Result<Option<DbKey>, String> {
        match self.entry.get_password() {
            Ok(text) => DbKey::from_hex(&text)
                .map(Some)
                .ok_or_else(|| format!("{} does not hold a key", self.describe())),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.describe())),
        }
    }

    /// Keeps `key` in the entry and proves it by reading it back.
    fn keep(&self, key: &DbKey) -> Result<(), String> {
        self.entry
            .set_password(&key.to_hex())
            .map_err(|e| format!("cannot keep the key in {}: {e}", self.describe()))?;
        match self.load_entry()? {
            Some(back) if back == *key => Ok(()),
            _ => {
                // Never leave a different key behind.
                let _ = self.entry.delete_credential();
                Err(format!("{} did not give the key back", self.describe()))
            }
        }
    }

    /// Moves the key of the key file into the keyring; the key file stays where the
    /// move fails.
    fn adopt(&self, key: DbKey) -> DbKey {
        match self.keep(&key) {
            Ok(()) => self.remove_file("moved the database key into the OS keyring"),
            Err(e) => tracing::warn!(
                db = %self.db.display(),
                "the database key stays in {}: {e}",
                self.file.path().display()
            ),
        }
        key
    }

    /// Removes the key file once the keyring holds the same key.
    fn remove_file(&self, what: &str) {
        match self.file.remove() {
            Ok(()) => tracing::info!(
                db = %self.db.display(),
                "{what}; removed {}",
                self.file.path().display()
            ),
            Err(e) => tracing::warn!(
                db = %self.db.display(),
                "the OS keyring holds the database key, but {e}"
            ),
        }
    }

    /// The keyring and the key file hold different keys: the keyring's if it opens the
    /// database, else the file's. Neither is changed; the log says which was taken.
    fn settle(&self, ring: DbKey, file: DbKey) -> DbKey {
        if key_opens(&self.db, &ring) {
            tracing::warn!(
                db = %self.db.display(),
                "the OS keyring and {} hold different keys: using the keyring's, which \
                 opens the database; the key file is left as it is",
                self.file.path().display()
            );
            ring
        } else {
            tracing::warn!(
                db = %self.db.display(),
                "the OS keyring and {} hold different keys: the keyring's does not open \
                 the database, so the key file's is used; both are left as they are",
                self.file.path().display()
            );
            file
        }
    }
}

impl KeyStore for OsKeyring {
    /// The key of the keyring entry; a key file's key is moved into the keyring first.
    fn load(&self) -> Result<Option<DbKey>, String> {
        let ring = self.load_entry()?;
        let file = self.file.load()?;
        Ok(match (ring, file) {
            (ring, None) => ring,
            (None, Some(file)) => Some(self.adopt(file)),
            (Some(ring), Some(file)) if ring == file => {
                // A move that was cut short after the keyring kept the key.
                self.remove_file("the OS keyring holds the database key");
                Some(ring)
            }
            (Some(ring), Some(file)) => Some(self.settle(ring, file)),
        })
    }

    fn save(&self, key: &DbKey) -> Result<(), String> {
        if self.load_entry()?.is_some() {
            return Err(format!(
                "{} holds a key already: a key is never replaced",
                self.describe()
            ));
        }
        self.keep(key)
    }

    fn describe(&self) -> String {
        format!("the OS keyring's entry {SERVICE} / {}", self.user)
    }
}

/// The name of the database in the keyring: its canonical path (the directory's, with
/// the file name, for a database not made yet).
fn canonical_name(db: &Path) -> Result<String, String> {
    let canonical = match std::fs::canonicalize(db) {
        Ok(p) => p,
        Err(_) => {
            let dir = db.parent().filter(|p| !p.as_os_str().is_empty());
            let dir = std::fs::canonicalize(dir.unwrap_or(Path::new(".")))
                .map_err(|e| format!("cannot resolve the directory of {}: {e}", db.display()))?;
            let name = db
                .file_name()
                .ok_or_else(|| format!("{} names no file", db.display()))?;
            dir.join(name)
        }
    };
    canonical
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{} is not UTF-8", canonical.display()))
}

/// Whether a Secret Service answers on the session bus with its default keyring
/// unlocked, asked without ever showing an unlock prompt (a headless session would wait
/// for it forever). No session bus address is not asked at all: libdbus would try to
/// start a bus of its own.
#[cfg(target_os = "linux")]
fn secret_service_answers() -> Result<(), String> {
    use dbus_secret_service::{EncryptionType, SecretService};
    let address = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty());
    let user_bus = std::env::var_os("XDG_RUNTIME_DIR")
        .map(|dir| Path::new(&dir).join("bus"))
        .filter(|bus| bus.exists());
    if address.is_none() && user_bus.is_none() {
        return Err("no session bus".into());
    }
    let ss = SecretService::connect_with_max_prompt_timeout(EncryptionType::Plain, 0)
        .map_err(|e| format!("no Secret Service on the session bus: {e}"))?;
    let default = ss
        .get_default_collection()
        .map_err(|e| format!("the Secret Service has no default keyring: {e}"))?;
    match default.is_locked() {
        Ok(false) => Ok(()),
        Ok(true) => Err("the default keyring is locked".into()),
        Err(e) => Err(format!("the default keyring does not answer: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_has_one_name_however_its_path_is_spelled_and_before_it_exists() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("sub")).expect("sub");
        let plain = dir.path().join("gridwalk.db");
        let roundabout = dir.path().join("sub/../gridwalk.db");
        let before = canonical_name(&plain).expect("name");
        assert_eq!(canonical_name(&roundabout).expect("name"), before);
        std::fs::write(&plain, b"").expect("create");
        assert_eq!(canonical_name(&roundabout).expect("name"), before);
        assert!(Path::new(&before).is_absolute(), "{before}");
        assert_ne!(
            canonical_name(&dir.path().join("other.db")).expect("name"),
            before
        );
    }
}
