//! The database key in the OS keyring (issue 15, docs/security.md "The phone's
//! database"), against a real Secret Service: each test starts a private session bus
//! (`dbus-daemon`) and GNOME Keyring's daemon unlocked with a password, in a temporary
//! home, and points this process at them (nextest runs every test in a process of its
//! own). A new database's key lands in the keyring and no key file is written; the
//! previous release's plain database is encrypted with its key there; a key file moves
//! into the keyring; with no session bus, no Secret Service, or a locked keyring the key
//! file is used; another database's entry is never used.
//!
//! The daemons not starting fails the test (scripts/test installs `dbus-daemon` and
//! `gnome-keyring`), unless `GRIDWALK_NO_KEYRING_TESTS=1` says to skip them.
#![cfg(target_os = "linux")]

mod common;

use common::{content, fixture};
use gridwalk_device::db_key::{default_key_store, is_plain, key_opens, DbKey, KeyFile, KeyStore};
use gridwalk_device::os_keyring::OsKeyring;
use gridwalk_device::store::open_raw;
use gridwalk_device::{migrations, Store};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private session bus, and GNOME Keyring's Secret Service on it when started with
/// [`Session::with_keyring`]. Both are killed on drop.
struct Session {
    dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Session {
    /// A session bus with an unlocked keyring, or `None` when the keyring tests are
    /// turned off; panics with the reason when the daemons do not start.
    fn with_keyring() -> Option<Session> {
        let mut session = Session::bus_only()?;
        if let Err(e) = session.start_keyring() {
            panic!("{}", Session::failure(&e));
        }
        Some(session)
    }

    /// A session bus with no Secret Service on it, or `None` when turned off.
    fn bus_only() -> Option<Session> {
        if std::env::var("GRIDWALK_NO_KEYRING_TESTS").as_deref() == Ok("1") {
            eprintln!("skipped: GRIDWALK_NO_KEYRING_TESTS=1");
            return None;
        }
        Some(Session::start_bus().unwrap_or_else(|e| panic!("{}", Session::failure(&e))))
    }

    fn failure(e: &str) -> String {
        format!(
            "cannot start a private Secret Service for the keyring tests: {e}\n\
             (scripts/test installs dbus-daemon and gnome-keyring; set \
             GRIDWALK_NO_KEYRING_TESTS=1 to skip these tests on purpose)"
        )
    }

    fn start_bus() -> Result<Session, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
        let runtime = dir.path().join("run");
        for sub in ["home", "run", "data", "config", "cache"] {
            std::fs::create_dir(dir.path().join(sub)).map_err(|e| format!("{sub}: {e}"))?;
        }
        let private = std::os::unix::fs::PermissionsExt::from_mode(0o700);
        std::fs::set_permissions(&runtime, private).map_err(|e| format!("run: {e}"))?;
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
                 <busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n",
                runtime.join("bus").display()
            ),
        )
        .map_err(|e| format!("cannot write the bus config: {e}"))?;
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run dbus-daemon: {e}"))?;
        let mut address = String::new();
        let read = bus
            .stdout
            .take()
            .map(|out| std::io::BufReader::new(out).read_line(&mut address));
        let session = Session {
            dir,
            children: vec![bus],
        };
        let address = address.trim();
        if !matches!(read, Some(Ok(_))) || address.is_empty() {
            return Err("dbus-daemon printed no address".into());
        }
        let d = session.dir.path();
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", address);
        std::env::set_var("HOME", d.join("home"));
        std::env::set_var("XDG_RUNTIME_DIR", d.join("run"));
        std::env::set_var("XDG_DATA_HOME", d.join("data"));
        std::env::set_var("XDG_CONFIG_HOME", d.join("config"));
        std::env::set_var("XDG_CACHE_HOME", d.join("cache"));
        std::env::remove_var(gridwalk_device::db_key::KEY_STORE_VAR);
        Ok(session)
    }

    fn start_keyring(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("gnome-keyring.log");
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run gnome-keyring-daemon: {e}"))?;
        // The login keyring's password, read until the end of its standard input.
        let written = daemon
            .stdin
            .take()
            .map(|mut input| input.write_all(b"test-password"));
        self.children.push(daemon);
        if !matches!(written, Some(Ok(()))) {
            return Err("cannot give gnome-keyring-daemon its password".into());
        }
        let probe = self.dir.path().join("probe.db");
        let start = Instant::now();
        loop {
            match OsKeyring::answering(&probe) {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(30) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(format!(
                        "the Secret Service did not answer in 30 s: {e}; its log: {log}"
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

fn entry(path: &Path) -> Option<DbKey> {
    OsKeyring::for_database(path)
        .expect("entry")
        .load_entry()
        .expect("keyring answers")
}

fn marked_database(path: &Path, keys: &dyn KeyStore) {
    let store =
        Store::open_with_keys(path, migrations::latest_version(), keys).expect("open with keys");
    store
        .connection()
        .execute(
            "INSERT INTO device_meta (key, value) VALUES ('probe', '金坛')",
            [],
        )
        .expect("insert");
}

fn reads_mark(path: &Path) {
    let store = Store::open(path).expect("opens");
    let v: String = store
        .connection()
        .query_row(
            "SELECT value FROM device_meta WHERE key = 'probe'",
            [],
            |r| r.get(0),
        )
        .expect("the mark");
    assert_eq!(v, "金坛");
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("gridwalk.db")
}

/// A database in `dir` whose key is in its key file (the previous release's way).
fn file_keyed_database(dir: &tempfile::TempDir, name: &str) -> (PathBuf, KeyFile, DbKey) {
    let path = dir.path().join(name);
    let file = KeyFile::beside(&path);
    marked_database(&path, &file);
    let key = file.load().expect("load").expect("the key file's key");
    (path, file, key)
}

/// A new database in a temp dir gets its key in its key file, and the key store says
/// why the keyring is not used: `reason`.
fn falls_back_to_the_key_file(reason: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let path = db_in(&dir);
    let keys = default_key_store(&path);
    assert!(keys.describe().contains(reason), "{}", keys.describe());
    marked_database(&path, keys.as_ref());
    assert!(KeyFile::beside(&path).load().expect("load").is_some());
    reads_mark(&path);
}

#[test]
fn a_new_databases_key_lands_in_the_keyring_and_no_key_file_is_written() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let path = db_in(&dir);
    assert!(default_key_store(&path).describe().contains("OS keyring"));
    marked_database(&path, default_key_store(&path).as_ref());
    assert!(!is_plain(&path).expect("read"), "encrypted");
    assert!(!KeyFile::beside(&path).path().exists(), "no key file");
    let key = entry(&path).expect("the key is in the keyring");
    assert!(key_opens(&path, &key));
    reads_mark(&path);
    drop(open_raw(&path).expect("tools read the key from the keyring too"));
    assert!(!KeyFile::beside(&path).path().exists());
}

#[test]
fn the_previous_releases_plain_database_is_encrypted_with_its_key_in_the_keyring() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let path = db_in(&dir);
    std::fs::copy(fixture(), &path).expect("copy fixture");
    let before = content(&rusqlite::Connection::open(&path).expect("plain open"));
    assert!(before["enterprise"].0 >= 40, "{before:?}");

    let store = Store::open(&path).expect("open migrates");
    assert_eq!(
        store.check_integrity().expect("check"),
        Vec::<String>::new()
    );
    drop(store);
    assert!(!is_plain(&path).expect("read"), "encrypted in place");
    assert!(!KeyFile::beside(&path).path().exists(), "no key file");
    assert!(entry(&path).is_some(), "the key is in the keyring");
    assert_eq!(content(&open_raw(&path).expect("keyed open")), before);
}

#[test]
fn an_existing_key_file_moves_into_the_keyring_and_the_database_still_opens() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (path, file, key) = file_keyed_database(&dir, "gridwalk.db");
    assert_eq!(entry(&path), None);

    reads_mark(&path);
    assert_eq!(entry(&path), Some(key), "moved into the keyring");
    assert!(!file.path().exists(), "the key file is removed once moved");
    reads_mark(&path);
}

#[test]
fn a_move_cut_short_after_the_keyring_kept_the_key_ends_at_the_next_open() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (path, file, key) = file_keyed_database(&dir, "gridwalk.db");
    // Killed after the keyring kept the key and before the file was removed.
    OsKeyring::for_database(&path)
        .expect("entry")
        .save(&key)
        .expect("kept in the keyring");

    reads_mark(&path);
    assert_eq!(entry(&path), Some(key));
    assert!(!file.path().exists());
}

#[test]
fn when_the_keyring_and_a_key_file_disagree_the_key_that_opens_the_database_is_used() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // The keyring's key opens the database; a stray key file holds another.
    let ring_db = dir.path().join("ring.db");
    marked_database(&ring_db, default_key_store(&ring_db).as_ref());
    let ring_key = entry(&ring_db).expect("in the keyring");
    let stray = DbKey::random().expect("key");
    KeyFile::beside(&ring_db)
        .save(&stray)
        .expect("stray key file");
    reads_mark(&ring_db);
    assert_eq!(entry(&ring_db), Some(ring_key), "the keyring keeps its key");
    assert_eq!(KeyFile::beside(&ring_db).load().expect("load"), Some(stray));

    // The key file's key opens the database; the keyring holds another.
    let (file_db, file, file_key) = file_keyed_database(&dir, "file.db");
    let wrong = DbKey::random().expect("key");
    OsKeyring::for_database(&file_db)
        .expect("entry")
        .save(&wrong)
        .expect("another key in the keyring");
    reads_mark(&file_db);
    assert_eq!(
        file.load().expect("load"),
        Some(file_key),
        "the key file stays"
    );
    assert_eq!(
        entry(&file_db),
        Some(wrong),
        "and so does the keyring's entry"
    );
}

#[test]
fn a_keyring_entry_of_another_database_is_not_used() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let first = dir.path().join("first.db");
    let second = dir.path().join("second.db");
    marked_database(&first, default_key_store(&first).as_ref());
    marked_database(&second, default_key_store(&second).as_ref());
    assert_ne!(entry(&first), entry(&second), "a key of its own each");

    // A copy of the first database under another name has no key: the first's entry
    // is not tried.
    let copy = dir.path().join("copy.db");
    std::fs::copy(&first, &copy).expect("copy");
    let err = Store::open(&copy).expect_err("no key for the copy");
    assert_eq!(err.code(), "store.key");
    assert!(err.to_string().contains("key is missing"), "{err}");
    assert_eq!(entry(&copy), None, "no key made for an encrypted database");
    assert!(!KeyFile::beside(&copy).path().exists());
}

#[test]
fn without_a_session_bus_the_key_file_is_used() {
    // Needs no daemon: never skipped.
    let dir = tempfile::tempdir().expect("dir");
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    std::env::set_var("XDG_RUNTIME_DIR", dir.path());
    std::env::remove_var(gridwalk_device::db_key::KEY_STORE_VAR);
    falls_back_to_the_key_file("no session bus");
}

#[test]
fn a_session_bus_without_a_secret_service_falls_back_to_the_key_file() {
    let Some(_session) = Session::bus_only() else {
        return;
    };
    falls_back_to_the_key_file("no Secret Service");
}

#[test]
fn a_locked_keyring_is_not_asked_and_the_key_file_is_used() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    use dbus_secret_service::{EncryptionType, SecretService};
    let ss = SecretService::connect(EncryptionType::Plain).expect("connect");
    ss.get_default_collection()
        .expect("default keyring")
        .lock()
        .expect("lock");
    falls_back_to_the_key_file("the default keyring is locked");
}

#[test]
fn gridwalk_key_store_file_keeps_the_key_in_the_key_file() {
    let Some(_session) = Session::with_keyring() else {
        return;
    };
    std::env::set_var(gridwalk_device::db_key::KEY_STORE_VAR, "file");
    falls_back_to_the_key_file("GRIDWALK_KEY_STORE=file");
}
