//! Uploads survive a server move (issue 18, "nothing lost"): a photo upload cut half-way
//! through one address resumes at the same server's new address after `gridwalk config
//! set server`, from the server's offset; an upload the server no longer knows starts
//! again from zero in the same pass, and a server that keeps forgetting never wedges it.

use gridwalk_system_tests::check::assert_synced;
use gridwalk_system_tests::fixtures::{uscc, write_noise_png, EXPERT};
use gridwalk_system_tests::proxy::Proxy;
use gridwalk_system_tests::{requests, wait_for, KillOnDrop, World};
use std::process::Stdio;
use std::time::Duration;

const CHUNK_KIB: u64 = 32;
/// One pass per run: whatever happens to the upload must be settled in that pass.
const ARGS: [&str; 8] = [
    "--chunk-kib",
    "32",
    "--timeout-secs",
    "5",
    "--backoff-ms",
    "50",
    "--attempts",
    "1",
];

/// A device whose only photo upload was cut half-way through the address it enrolled
/// with (`old`, a proxy to the server).
struct HalfDone {
    w: World,
    old: Proxy,
    /// The photo's size in bytes.
    size: u64,
    /// The server's offset after the cut: the last chunk acknowledged.
    offset: u64,
    /// The upload's path (`/v1/photos/<id>`).
    upload: String,
}

fn upload_cut_half_way(seed: u64) -> HalfDone {
    let w = World::new(1);
    let old = Proxy::start(w.server.addr);
    w.enroll(&old.url());
    let d = &w.device;
    let png = w.tmp.path().join("large.png");
    write_noise_png(&png, 1024, 768, seed);
    d.add_photo(&png, &uscc(1), EXPERT);
    let size = d.photos().pop().expect("photo").derived_bytes;
    assert!(size > 8 * CHUNK_KIB * 1024, "many chunks: {size} bytes");

    old.hold_at_patch_bytes(size / 2);
    let mut sync = KillOnDrop(
        d.command(&[&["sync", "--once"][..], &ARGS].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sync"),
    );
    assert!(
        wait_for(Duration::from_secs(60), || old.held()),
        "the upload never reached half its bytes: {}",
        old.stats()
    );
    let held = old.log().last().cloned().expect("the held request");
    assert_eq!(held.method, "PATCH");
    let offset = held.upload_offset.expect("Upload-Offset");
    assert!(offset > 0 && offset < size, "{offset} of {size}");
    old.cut_all();
    let exit = sync.0.wait().expect("sync");
    assert_eq!(exit.code(), Some(4), "cut: work remains");
    let upload = held.path;
    assert!(upload.starts_with("/v1/photos/"), "{upload}");
    assert_eq!(
        stored_upload_url(&w),
        Some(upload.clone()),
        "the device keeps the upload's path, not the address it reached it by"
    );
    HalfDone {
        w,
        old,
        size,
        offset,
        upload,
    }
}

fn device_db(w: &World) -> rusqlite::Connection {
    w.device.raw_db()
}

fn stored_upload_url(w: &World) -> Option<String> {
    device_db(w)
        .query_row("SELECT upload_url FROM sync_photo", [], |r| r.get(0))
        .expect("sync_photo")
}

impl HalfDone {
    /// The old address goes away; the device is pointed at `new`, a new address of the
    /// same server.
    fn move_server(self) -> (World, Proxy, u64, u64, String) {
        let HalfDone {
            w,
            old,
            size,
            offset,
            upload,
        } = self;
        drop(old);
        let new = Proxy::start(w.server.addr);
        w.device.ok(&["config", "set", "server", &new.url()]);
        assert_eq!(w.device.status()["server"], new.url().as_str());
        (w, new, size, offset, upload)
    }
}

/// Syncs once through `new`: exit 0; what the summary says was sent.
fn sync_once_done(w: &World, new: &Proxy) -> u64 {
    let (code, summary, stderr) = w.device.sync_once(&ARGS);
    assert_eq!(
        code,
        Some(0),
        "one pass delivers it: {stderr}\n{summary:?}\n{:#?}",
        new.log()
            .iter()
            .map(|l| (&l.method, &l.path, l.upload_offset, l.status))
            .collect::<Vec<_>>()
    );
    let summary = summary.expect("summary");
    assert_eq!(summary["photos_uploaded"].as_u64(), Some(1), "{summary}");
    summary["photo_bytes_sent"].as_u64().expect("bytes sent")
}

/// The resumed upload went through `new` only: `HEAD`, then `PATCH`es from the server's
/// offset, no new creation, and fewer bytes than the whole photo.
fn assert_resumed(new: &Proxy, size: u64, offset: u64, upload: &str, sent: u64) {
    let log = new.log();
    assert!(
        requests(&log, "POST", "/v1/photos").is_empty(),
        "no new upload: {log:?}"
    );
    let heads = requests(&log, "HEAD", "/v1/photos/");
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert_eq!(heads[0].path, upload);
    let patches = requests(&log, "PATCH", "/v1/photos/");
    assert!(patches.iter().all(|p| p.path == upload), "{patches:?}");
    assert_eq!(
        patches.first().and_then(|p| p.upload_offset),
        Some(offset),
        "resumes at the server's offset"
    );
    assert_eq!(sent, size - offset, "only what the server lacked");
    assert!(sent < size, "{sent} of {size}");
    assert_eq!(new.stats().patch_body_bytes, sent);
}

#[test]
fn an_upload_cut_half_way_resumes_at_the_servers_new_address() {
    let (w, new, size, offset, upload) = upload_cut_half_way(18).move_server();
    let sent = sync_once_done(&w, &new);
    assert_resumed(&new, size, offset, &upload, sent);
    assert_eq!(stored_upload_url(&w), Some(upload), "kept as a path");
    assert_synced(&w.device, &w.server);
}

/// An older app version kept the upload's absolute URL, with the address that is gone
/// now: it is reduced to its path and resolved against the new address (no migration).
#[test]
fn an_absolute_upload_url_kept_by_an_older_version_resumes_at_the_new_address() {
    let half = upload_cut_half_way(19);
    let absolute = format!("{}{}", half.old.url(), half.upload);
    device_db(&half.w)
        .execute("UPDATE sync_photo SET upload_url = ?1", [&absolute])
        .expect("store the URL as an older version did");
    let (w, new, size, offset, upload) = half.move_server();
    assert_ne!(absolute, format!("{}{upload}", new.url()));
    let sent = sync_once_done(&w, &new);
    assert_resumed(&new, size, offset, &upload, sent);
    assert_eq!(
        stored_upload_url(&w),
        Some(upload),
        "kept as a path from the first chunk on"
    );
    assert_synced(&w.device, &w.server);
}

/// The server no longer knows the half-done upload (`PATCH` answered `404 not_found`
/// after a `HEAD` that found it, as when the upload expires in between): a new upload
/// starts from zero in the same pass, and the run ends with everything delivered.
#[test]
fn an_upload_the_server_forgot_starts_again_from_zero_in_the_same_pass() {
    let (w, new, size, offset, upload) = upload_cut_half_way(20).move_server();
    new.answer("PATCH", "/v1/photos/", 404, "not_found");
    let sent = sync_once_done(&w, &new);
    assert_eq!(new.forged_left(), 0);
    let log = new.log();
    let tus: Vec<_> = log
        .iter()
        .filter(|l| l.path.starts_with("/v1/photos"))
        .collect();
    assert_eq!(
        (tus[0].method.as_str(), tus[0].path.as_str(), tus[0].status),
        ("HEAD", upload.as_str(), Some(200))
    );
    assert_eq!(
        (tus[1].method.as_str(), tus[1].upload_offset, tus[1].status),
        ("PATCH", Some(offset), Some(404))
    );
    assert_eq!(
        (tus[2].method.as_str(), tus[2].status),
        ("POST", Some(201)),
        "a new creation: {tus:?}"
    );
    let patches: Vec<_> = tus[3..].iter().filter(|l| l.method == "PATCH").collect();
    assert_eq!(patches[0].upload_offset, Some(0), "from zero");
    assert!(
        patches.iter().all(|p| p.path != upload),
        "on the new upload"
    );
    assert_eq!(sent, size, "the whole photo again");
    assert_synced(&w.device, &w.server);
}

/// A server that keeps forgetting (`HEAD` answered `410`, then every new upload's
/// `PATCH` `404`): the pass ends after a few new uploads with a transient error instead
/// of looping, and the next run delivers the photo.
#[test]
fn a_server_that_keeps_forgetting_uploads_ends_the_pass_and_the_next_run_delivers() {
    let (w, new, size, _, upload) = upload_cut_half_way(21).move_server();
    new.answer("HEAD", "/v1/photos/", 410, "not_found");
    for _ in 0..3 {
        new.answer("PATCH", "/v1/photos/", 404, "not_found");
    }
    let (code, summary, stderr) = w.device.sync_once(&ARGS);
    assert_eq!(code, Some(4), "{stderr}\n{summary:?}");
    let summary = summary.expect("summary");
    assert_eq!(
        summary["error"]["code"], "network.interrupted",
        "transient: {summary}"
    );
    assert_eq!(new.forged_left(), 0);
    let log = new.log();
    assert_eq!(
        requests(&log, "POST", "/v1/photos").len(),
        3,
        "a new upload after the 410 and after each of the first two 404s: {log:?}"
    );
    assert!(requests(&log, "PATCH", &upload).is_empty());

    let sent = sync_once_done(&w, &new);
    assert_eq!(sent, size);
    assert_synced(&w.device, &w.server);
}
