//! The device database encrypted at rest (docs/security.md "The phone's database"):
//! SQLCipher with a random 256-bit raw key, kept by a [`KeyStore`], and the one-time
//! migration of a plain database written by an earlier release into an encrypted one,
//! in place and without loss.
//!
//! The key store is chosen by [`default_key_store`]: the OS keyring on a desktop whose
//! keyring answers ([`crate::os_keyring`]); otherwise a file beside the database readable
//! by its owner only ([`KeyFile`], mode 0600), which keeps the database safe when it is
//! copied on its own (a backup, a bug report, a file manager) but not from someone who
//! can read the whole app directory. (The Android Keystore, through the app, is not
//! built: there the key file is used.)

use crate::error::StoreError;
use rusqlite::Connection;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first 16 bytes of every plain SQLite database file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A 256-bit raw SQLCipher key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DbKey([u8; 32]);

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(…)")
    }
}

impl DbKey {
    /// A new random key from the operating system's generator.
    pub fn random() -> Result<DbKey, String> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| format!("no random bytes: {e}"))?;
        Ok(DbKey(k))
    }

    /// The key from its 64 hex characters.
    pub fn from_hex(text: &str) -> Option<DbKey> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, byte) in k.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(DbKey(k))
    }

    /// The key as 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key as SQLCipher takes a raw key: `x'…'` (no key derivation).
    fn sqlcipher_literal(&self) -> String {
        format!("x'{}'", self.to_hex())
    }

    /// Applies the key to a connection just opened (before anything reads the file);
    /// then prove it reads the database, and [`DbKey::tune`] the connection.
    pub fn apply(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(&format!("PRAGMA key = \"{}\";", self.sqlcipher_literal()))
    }

    /// Settings for a connection whose key has been proven to read the database:
    /// decrypted pages stay in a larger page cache (16 MiB instead of 2), so a search
    /// does not decrypt the same index pages again and again; and SQLCipher does not
    /// wipe every freed buffer (against memory dumps of a running app, which the threat
    /// model does not hold: a phone is lost switched off or locked).
    pub fn tune(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA cipher_memory_security = OFF;")
    }
}

/// Where the key of a database is kept.
pub trait KeyStore {
    /// The key, if one was made.
    fn load(&self) -> Result<Option<DbKey>, String>;
    /// Keeps `key` durably (on disk or in the keystore) before returning. Never
    /// replaces a key already kept: that is an error (the caller loads it instead).
    fn save(&self, key: &DbKey) -> Result<(), String>;
    /// Where the key is, for messages.
    fn describe(&self) -> String;
}

/// The fallback key store: a file readable and writable by its owner only.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file of the database at `db`: `<db>.key` beside it.
    pub fn beside(db: &Path) -> KeyFile {
        let mut name = db.file_name().unwrap_or_default().to_os_string();
        name.push(".key");
        KeyFile {
            path: db.with_file_name(name),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file (once its key is kept elsewhere) and flushes its directory; a
    /// file already gone is no error.
    pub fn remove(&self) -> Result<(), String> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("cannot remove {}: {e}", self.path.display())),
        }
        sync_dir(&self.path)
            .map_err(|e| format!("cannot sync the directory of {}: {e}", self.path.display()))
    }
}

/// The environment variable that, set to `file`, keeps the key in the key file even
/// where a keyring answers (a kiosk session, a test machine).
pub const KEY_STORE_VAR: &str = "GRIDWALK_KEY_STORE";

/// The key store of the database at `db`: the OS keyring where one answers now (a
/// session bus with an unlocked Secret Service on Linux; the Keychain or the Credential
/// Manager on macOS and Windows), which takes over a key file it finds; the key file
/// otherwise, or when `GRIDWALK_KEY_STORE=file`. The choice is logged.
pub fn default_key_store(db: &Path) -> Box<dyn KeyStore> {
    let file = KeyFile::beside(db);
    let why = match std::env::var(KEY_STORE_VAR) {
        Ok(v) if v == "file" => format!("{KEY_STORE_VAR}=file"),
        _ => match keyring_store(db) {
            Ok(ring) => {
                tracing::debug!(db = %db.display(), "database key: {}", ring.describe());
                return ring;
            }
            Err(why) => why,
        },
    };
    tracing::debug!(db = %db.display(), "database key: {} ({why})", file.describe());
    Box::new(FallbackKeyFile { file, why })
}

#[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
fn keyring_store(db: &Path) -> Result<Box<dyn KeyStore>, String> {
    Ok(Box::new(crate::os_keyring::OsKeyring::answering(db)?))
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn keyring_store(_db: &Path) -> Result<Box<dyn KeyStore>, String> {
    Err("no OS keyring on this platform".into())
}

/// The key file, chosen because the keyring was not: its description says why, so a
/// key that was moved into a keyring that is absent now is not simply "missing".
struct FallbackKeyFile {
    file: KeyFile,
    why: String,
}

impl KeyStore for FallbackKeyFile {
    fn load(&self) -> Result<Option<DbKey>, String> {
        self.file.load()
    }

    fn save(&self, key: &DbKey) -> Result<(), String> {
        self.file.save(key)
    }

    fn describe(&self) -> String {
        format!(
            "{}; the OS keyring is not used: {}",
            self.file.describe(),
            self.why
        )
    }
}

/// Whether `key` reads the existing database at `path` (false for a file that is
/// missing, plain, or another key's).
pub fn key_opens(path: &Path, key: &DbKey) -> bool {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return false;
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .is_ok()
        && key.apply(&conn).is_ok()
        && conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok()
}

impl KeyStore for KeyFile {
    fn load(&self) -> Result<Option<DbKey>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => DbKey::from_hex(&text)
                .map(Some)
                .ok_or_else(|| format!("{} does not hold a key", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    fn save(&self, key: &DbKey) -> Result<(), String> {
        let err = |what: &str, e: std::io::Error| format!("{what} {}: {e}", self.path.display());
        let mut tmp = self.path.as_os_str().to_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|e| err("cannot create", e))?;
        f.write_all(key.to_hex().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err("cannot write", e))?;
        // A link, not a rename: it fails rather than replace a key another opener kept.
        let linked = std::fs::hard_link(&tmp, &self.path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!(
                    "{} exists already: a key is never replaced",
                    self.path.display()
                ))
            }
            Err(e) => return Err(err("cannot link to", e)),
        }
        sync_dir(&self.path).map_err(|e| err("cannot sync the directory of", e))
    }

    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }
}

/// Flushes the directory holding `path`, so a rename into it survives a power cut.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn key_error(path: &Path, detail: String) -> StoreError {
    StoreError::Key {
        path: path.to_path_buf(),
        detail,
    }
}

/// Whether the file at `path` is a plain (unencrypted) SQLite database.
pub fn is_plain(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut header)?;
    Ok(n == 16 && &header == PLAIN_HEADER)
}

/// An exclusive lock on `<db>.open-lock`, held while a database is prepared and first
/// opened: two programs (the app and the CLI) or two threads opening it at once never
/// both make a key or both encrypt it. Released on drop.
pub fn open_lock(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = path.as_os_str().to_os_string();
    name.push(".open-lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))
        .map_err(|e| key_error(path, format!("cannot create the open lock: {e}")))?;
    f.lock()
        .map_err(|e| key_error(path, format!("cannot take the open lock: {e}")))?;
    Ok(f)
}

/// The key for the database at `path`, made and kept first if it has none, after
/// encrypting a plain database there in place. Called before the database is opened,
/// under [`open_lock`].
pub fn prepare(path: &Path, keys: &dyn KeyStore) -> Result<DbKey, StoreError> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => {
            return Err(key_error(
                path,
                format!("cannot read the database file: {e}"),
            ))
        }
    };
    let plain = len > 0
        && is_plain(path)
            .map_err(|e| key_error(path, format!("cannot read the database file: {e}")))?;
    let stored = keys.load().map_err(|e| key_error(path, e))?;
    let key = match stored {
        Some(k) => k,
        None if len > 0 && !plain => {
            return Err(key_error(
                path,
                format!(
                    "the database is encrypted and its key is missing ({})",
                    keys.describe()
                ),
            ))
        }
        None => {
            // Kept before anything is encrypted with it.
            let k = DbKey::random().map_err(|e| key_error(path, e))?;
            keys.save(&k).map_err(|e| key_error(path, e))?;
            k
        }
    };
    if plain {
        encrypt_in_place(path, &key)?;
    }
    Ok(key)
}

/// Encrypts the plain database at `path` with `key`: its write-ahead log folded in, an
/// encrypted copy made beside it and flushed, then renamed over it. A crash at any point
/// leaves either the plain database whole or the encrypted one whole.
pub fn encrypt_in_place(path: &Path, key: &DbKey) -> Result<(), StoreError> {
    let sibling = |suffix: &str| {
        let mut s = path.as_os_str().to_os_string();
        s.push(suffix);
        PathBuf::from(s)
    };
    let tmp = sibling(".encrypting");
    let io = |what: &str, e: std::io::Error| key_error(path, format!("{what}: {e}"));
    if tmp.exists() {
        // Left by an encryption that did not finish: the plain database is still whole.
        std::fs::remove_file(&tmp).map_err(|e| io("cannot remove a partial copy", e))?;
    }
    {
        let plain = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        plain.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every committed frame into the file, or nothing happens: a log another program
        // still writes to (an earlier release left running) must not be removed below.
        let (busy, log, done): (i64, i64, i64) =
            plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 || (log > 0 && done != log) {
            return Err(key_error(
                path,
                "another program has the database open; close the other GridWalk programs \
                 and open it again (nothing was changed)"
                    .into(),
            ));
        }
        let version: i64 = plain.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let target = tmp
            .to_str()
            .ok_or_else(|| key_error(path, "the path is not UTF-8".into()))?;
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            [target, &key.sqlcipher_literal()],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.execute_batch(&format!("PRAGMA encrypted.user_version = {version};"))?;
        plain.execute_batch("DETACH DATABASE encrypted;")?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot flush the encrypted copy", e))?;
    // The log was folded into the file above; what is left of it belongs to the plain
    // file and must not be read against the encrypted one.
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(sibling(suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("cannot remove the plain database's log", e)),
        }
    }
    std::fs::rename(&tmp, path).map_err(|e| io("cannot put the encrypted copy in place", e))?;
    sync_dir(path).map_err(|e| io("cannot flush the directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_and_hide_in_debug() {
        let k = DbKey::random().expect("random");
        assert_eq!(DbKey::from_hex(&k.to_hex()), Some(k.clone()));
        assert_eq!(format!("{k:?}"), "DbKey(…)");
        assert_eq!(DbKey::from_hex("abc"), None);
        assert_eq!(DbKey::from_hex(&"g".repeat(64)), None);
        assert_ne!(DbKey::random().expect("random"), k);
    }

    #[test]
    fn a_key_file_is_private_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let keys = KeyFile::beside(&dir.path().join("gridwalk.db"));
        assert_eq!(keys.path(), dir.path().join("gridwalk.db.key"));
        assert_eq!(keys.load().expect("load"), None);
        let k = DbKey::random().expect("random");
        keys.save(&k).expect("save");
        assert_eq!(keys.load().expect("load"), Some(k));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(keys.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(keys.path(), "not a key").expect("write");
        assert!(keys.load().is_err());
    }
}
