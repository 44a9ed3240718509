//! A large photo upload cut at 90 %: the server is SIGKILLed mid-chunk and restarted on
//! the same data directory at a new address; the next sync resumes the same tus upload
//! from the server's offset, re-sending at most one chunk.

use gridwalk_system_tests::check::assert_synced;
use gridwalk_system_tests::fixtures::{uscc, write_noise_png};
use gridwalk_system_tests::proxy::Proxy;
use gridwalk_system_tests::{requests, sync_until_done, wait_for, KillOnDrop, World};
use std::process::Stdio;
use std::time::Duration;

const CHUNK_KIB: u64 = 64;

#[test]
fn an_upload_cut_at_90_percent_by_a_server_kill_resumes_from_the_servers_offset() {
    let mut w = World::new(1);
    let proxy = Proxy::start(w.server.addr);
    w.enroll(&proxy.url());
    let d = &w.device;
    let png = w.tmp.path().join("large.png");
    write_noise_png(&png, 2048, 1536, 90);
    d.add_photo(&png, &uscc(1), "李专家");
    std::fs::remove_file(&png).expect("the device keeps its own copy");
    let photo = d.photos().pop().expect("photo");
    let size = photo.derived_bytes;
    let chunk = CHUNK_KIB * 1024;
    assert!(size > 10 * chunk, "large-ish: {size} bytes");

    let mark = size * 9 / 10;
    proxy.hold_at_patch_bytes(mark);
    let chunk_arg = CHUNK_KIB.to_string();
    let args = [
        "--chunk-kib",
        chunk_arg.as_str(),
        "--timeout-secs",
        "5",
        "--backoff-ms",
        "50",
        "--attempts",
        "3",
    ];
    let mut sync = KillOnDrop(
        d.command(&[&["sync", "--once"][..], &args].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sync"),
    );
    assert!(
        wait_for(Duration::from_secs(60), || proxy.held()),
        "the upload never reached {mark} bytes: {}",
        proxy.stats()
    );
    let before_cut = proxy.log();
    let held = before_cut.last().expect("the held request");
    assert_eq!(held.method, "PATCH");
    assert_eq!(held.status, None, "the held chunk was never answered");
    let held_offset = held.upload_offset.expect("Upload-Offset");
    let upload = held.path.clone();
    assert_eq!(proxy.stats().patch_body_bytes, mark);

    w.server.kill();
    proxy.cut_all();
    w.server.restart();
    proxy.retarget(w.server.addr);
    proxy.resume();
    let first = sync.0.wait().expect("first sync");
    let runs = sync_until_done(d, &args, 5);

    let log = proxy.log();
    let after = &log[before_cut.len()..];
    assert!(
        requests(after, "POST", "/v1/photos").is_empty(),
        "no new upload after the restart: {after:?}"
    );
    let patches = requests(after, "PATCH", "");
    let resumed = patches.first().expect("a PATCH after the restart");
    assert_eq!(resumed.path, upload, "the same tus upload goes on");
    assert_eq!(
        resumed.upload_offset,
        Some(held_offset),
        "it resumes at the server's offset: the last chunk acknowledged before the kill"
    );
    let sent = proxy.stats().patch_body_bytes;
    let resent = sent - size;
    eprintln!(
        "server_restart: bytes re-sent after a cut at 90 %: {resent} (photo {size} bytes, \
         chunk {chunk}, cut at {mark} inside the chunk at offset {held_offset}; {sent} PATCH \
         body bytes in all; first sync exited {:?}, then {runs} run(s))",
        first.code()
    );
    assert!(
        resent <= chunk,
        "at most one chunk re-sent: {resent} > {chunk}"
    );
    assert_synced(d, &w.server);
}
