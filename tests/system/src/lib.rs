//! Support code for the cross-component tests in `tests/`: the built binaries
//! ([`bins`]), the server as a child process ([`server`]), a device driven through the
//! `gridwalk` CLI ([`device`]), offline fixtures ([`fixtures`]), the consistency checks
//! between the two ([`check`]), a fault-injecting proxy ([`proxy`]) and a seeded RNG
//! ([`rng`]).

pub mod bins;
pub mod check;
pub mod device;
pub mod fixtures;
pub mod http;
pub mod pg;
pub mod proxy;
pub mod rng;
pub mod server;

use device::Device;
use fixtures::{corpus_photo, uscc};
use server::Server;
use std::time::{Duration, Instant};

/// A server with the register and the expert, and a device with the same register.
/// Dropped in order: server (killed), device, then the temporary directory.
pub struct World {
    pub server: Server,
    pub device: Device,
    pub tmp: tempfile::TempDir,
}

impl World {
    /// `enterprises` polishers on both sides; the device is not enrolled yet.
    pub fn new(enterprises: u32) -> World {
        World::new_on(enterprises, None)
    }

    /// [`World::new`] with the server on PostgreSQL when `database_url` is given.
    pub fn new_on(enterprises: u32, database_url: Option<String>) -> World {
        let tmp = tempfile::Builder::new()
            .prefix("gridwalk-system-")
            .tempdir()
            .expect("tempdir");
        let server = Server::with_register_on(tmp.path(), enterprises, database_url);
        let device = Device::new(tmp.path(), enterprises);
        World {
            server,
            device,
            tmp,
        }
    }

    /// Enrolls the device with a fresh code, naming the server by `url`.
    pub fn enroll(&self, url: &str) -> serde_json::Value {
        let code = self.server.enrollment_code();
        self.device.enroll(url, &code)
    }

    /// A second phone (its register of `enterprises`, as [`device::Device::new`]),
    /// enrolled as `user` (who must exist on the server) and synced: the grid worker's
    /// beside the expert's [`World::device`].
    pub fn phone_of(&self, user: &str, enterprises: u32) -> device::Device {
        let phone = device::Device::new(&self.tmp.path().join(user), enterprises);
        let code = self
            .server
            .admin(&["admin", "enrollment-code", "--user", user]);
        phone.enroll(
            &self.server.url(),
            code.lines().last().expect("code line").trim(),
        );
        sync_until_done(&phone, &["--backoff-ms", "50"], 4);
        phone
    }
}

/// Offline work on enterprise `n`: a dust verification (one photo) and an expert
/// inspection finding a major hazard (two photos), then the hazard assigned. Returns
/// the two inspection ids.
pub fn inspections_with_major_hazard(device: &Device, n: u32) -> (String, String) {
    let e = uscc(n);
    let dust = device.dust_verification(&e, &corpus_photo("gps__DSCN0010.jpg"));
    let expert = device.major_hazard_inspection(
        &e,
        [
            &corpus_photo("gps__DSCN0021.jpg"),
            &corpus_photo("gps__DSCN0029.jpg"),
        ],
    );
    let hazard = device
        .hazards()
        .into_iter()
        .find(|h| h["inspection_id"] == expert.as_str())
        .unwrap_or_else(|| panic!("no hazard from {expert}: {:?}", device.hazards()));
    assert_eq!(hazard["severity"], "major", "{hazard}");
    assert_eq!(hazard["item_id"], "MH-D-03", "{hazard}");
    let hid = hazard["id"].as_str().expect("hazard id");
    device.ok(&[
        "hazards",
        "assign",
        hid,
        "--to",
        "企业张三",
        "--actor",
        "李专家",
    ]);
    (dust, expert)
}

/// Runs `sync --once <args>` until it exits 0, at most `max_runs` times; the number of
/// runs. Panics on exit codes other than 0 and 4, or when runs are used up.
pub fn sync_until_done(device: &Device, args: &[&str], max_runs: u32) -> u32 {
    for run in 1..=max_runs {
        let (code, summary, stderr) = device.sync_once(args);
        match code {
            Some(0) => return run,
            Some(4) => {}
            other => panic!("sync --once exited {other:?}: {stderr}\n{summary:?}"),
        }
    }
    panic!(
        "sync --once still had work after {max_runs} runs: {}",
        device.status()
    );
}

/// A child process that is SIGKILLed and reaped on drop, so a failing test leaves none
/// behind.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `cond` every 5 ms until it holds or `timeout` passes; whether it held.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Copies a directory tree (a phone's app data, a server's data directory): a backup.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Replaces `dir` with the copy in `backup`: a restore.
pub fn restore_dir(backup: &std::path::Path, dir: &std::path::Path) {
    std::fs::remove_dir_all(dir).expect("remove");
    copy_dir(backup, dir);
}

/// Requests in a proxy log with this method whose path starts with `path`.
pub fn requests<'a>(log: &'a [proxy::Logged], method: &str, path: &str) -> Vec<&'a proxy::Logged> {
    log.iter()
        .filter(|l| l.method == method && l.path.starts_with(path))
        .collect()
}

/// The records of every push in a proxy log (gzip bodies decoded), in order.
pub fn pushed_records(log: &[proxy::Logged]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for l in requests(log, "POST", "/v1/sync/push") {
        let body = l.body.as_deref().unwrap_or_default();
        let body = if l.content_encoding.as_deref() == Some("gzip") {
            let mut d = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut d)
                .expect("gunzip push body");
            d
        } else {
            body.to_vec()
        };
        let v: serde_json::Value = serde_json::from_slice(&body).expect("push body json");
        out.extend(v["records"].as_array().expect("records").iter().cloned());
    }
    out
}
