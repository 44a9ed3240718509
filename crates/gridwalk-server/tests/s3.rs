//! Photos and partial uploads on S3 (`--blob-url s3://bucket/prefix`), against a real
//! S3-compatible server: moto's server mode ([`common::moto`]), started per test on a
//! free loopback port. The bucket is read back through the S3 API (object_store's
//! client without the server's prefix), not through the server.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use common::moto::{Moto, PREFIX};
use common::*;
use gridwalk_protocol::sha256_hex;

async fn s3_harness(moto: &Moto) -> Harness {
    let blobs = moto.store();
    Harness::start_configured(Db::Sqlite, Default::default(), None, move |mut s| {
        s.blobs = blobs;
        s.blob_dir = None;
        s
    })
    .await
    .expect("sqlite harness")
}

async fn create(h: &Harness, token: &str, declared_sha: &str, len: usize) -> String {
    let r = h
        .http
        .post(h.url("/v1/photos"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", len.to_string())
        .header(
            "Upload-Metadata",
            gridwalk_protocol::tus::encode_metadata(&[("sha256", declared_sha)]),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.headers()["location"].to_str().expect("loc").to_string()
}

async fn patch(h: &Harness, token: &str, loc: &str, offset: usize, chunk: &[u8]) -> (u16, String) {
    let r = h
        .http
        .patch(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .header(
            "Upload-Checksum",
            gridwalk_protocol::tus::chunk_checksum(chunk),
        )
        .body(chunk.to_vec())
        .send()
        .await
        .expect("patch");
    let status = r.status().as_u16();
    let offset = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, offset)
}

async fn head(h: &Harness, token: &str, loc: &str) -> Option<u64> {
    let r = h
        .http
        .head(h.url(loc))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    r.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

/// Enrolls a device and pushes one inspection naming these photo hashes (a spot-check
/// inspection with three photos when three are given, so the console shows them).
async fn device_with_record(h: &Harness, shas: &[&str]) -> (String, uuid::Uuid) {
    let dev = h.enroll("expert-jincheng").await;
    let r = match shas {
        [a, b, c] => {
            let id = uuid::Uuid::now_v7();
            let photos = [a.to_string(), b.to_string(), c.to_string()];
            let p = support::inspection_payload(id, &uscc_here(), &photos, 1);
            let text =
                String::from_utf8(gridwalk_checklist::to_canonical_json(&p).expect("canonical"))
                    .expect("utf-8");
            let mut e = gridwalk_protocol::RecordEnvelope::new(
                id,
                gridwalk_protocol::RecordKind::Inspection,
                1,
                text,
            );
            e.enterprise_uscc = Some(uscc_here());
            e.photos = photos.to_vec();
            e
        }
        _ => inspection(1, &uscc_here(), shas),
    };
    let (status, v) = h.push(&dev.token, std::slice::from_ref(&r)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    (dev.token, r.id)
}

/// A 12 MiB photo in two 6 MiB chunks (each chunk a multipart object, the photo a
/// multipart write) and a small one in one: both land in the bucket under the prefix as
/// `photos/<sha256>` with the right bytes, no chunk object is left, and the officer's
/// console is served the photo from S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_stored_in_the_bucket_verified_and_served_back() {
    let moto = Moto::start().await;
    let h = s3_harness(&moto).await;
    let big = incompressible_bytes(12 * 1024 * 1024, 1);
    let small = incompressible_bytes(70_000, 2);
    let tiny = incompressible_bytes(100, 3);
    let (big_sha, small_sha, tiny_sha) = (sha256_hex(&big), sha256_hex(&small), sha256_hex(&tiny));
    let (token, record) = device_with_record(&h, &[&big_sha, &small_sha, &tiny_sha]).await;

    let loc = create(&h, &token, &big_sha, big.len()).await;
    let half = big.len() / 2;
    assert_eq!(
        patch(&h, &token, &loc, 0, &big[..half]).await,
        (204, half.to_string())
    );
    let keys = moto.keys().await;
    let id = loc.rsplit('/').next().expect("id");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with(&format!("{PREFIX}/uploads/{id}/00000000000000000000-")),
        "the first chunk is an object of its own: {keys:?}"
    );
    assert_eq!(
        patch(&h, &token, &loc, half, &big[half..]).await,
        (204, big.len().to_string())
    );
    for p in [&small, &tiny] {
        let loc = create(&h, &token, &sha256_hex(p), p.len()).await;
        assert_eq!(patch(&h, &token, &loc, 0, p).await.0, 204);
    }

    let mut want = vec![
        format!("{PREFIX}/photos/{big_sha}"),
        format!("{PREFIX}/photos/{small_sha}"),
        format!("{PREFIX}/photos/{tiny_sha}"),
    ];
    want.sort();
    assert_eq!(moto.keys().await, want, "photos only, no chunk left");
    assert_eq!(
        sha256_hex(&moto.object(&format!("{PREFIX}/photos/{big_sha}")).await),
        big_sha
    );
    assert_eq!(
        moto.object(&format!("{PREFIX}/photos/{small_sha}")).await,
        small
    );

    let officer = officer_session(&h, "officer-s3", DISTRICT).await;
    for (sha, body) in [(&big_sha, &big), (&small_sha, &small), (&tiny_sha, &tiny)] {
        let r = h
            .http
            .get(h.url(&format!("/v1/inspections/{record}/photos/{sha}")))
            .bearer_auth(&officer)
            .send()
            .await
            .expect("photo");
        assert_eq!(r.status(), 200, "{sha}");
        assert_eq!(&r.bytes().await.expect("bytes")[..], &body[..]);
    }
    // The record is complete: the server counts both photos as verified.
    let (_, v) = h.get(&token, "/v1/sync/missing-photos").await;
    assert_eq!(v["photos"], serde_json::json!([]), "{v}");
}

/// Bytes that do not hash to the declared SHA-256 are refused (small: one put never
/// made; large: the multipart write aborted) and nothing is left in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_hash_upload_is_refused_and_leaves_nothing_in_the_bucket() {
    let moto = Moto::start().await;
    let h = s3_harness(&moto).await;
    for len in [50_000usize, 9 * 1024 * 1024] {
        let declared = incompressible_bytes(len, 10 + len as u64);
        let sent = incompressible_bytes(len, 20 + len as u64);
        let sha = sha256_hex(&declared);
        let (token, _) = device_with_record(&h, &[&sha]).await;
        let loc = create(&h, &token, &sha, len).await;
        let mut offset = 0;
        let mut last = (0, String::new());
        for chunk in sent.chunks(6 * 1024 * 1024) {
            last = patch(&h, &token, &loc, offset, chunk).await;
            offset += chunk.len();
        }
        assert_eq!(last.0, 422, "photo_hash_mismatch for {len} bytes");
        assert_eq!(head(&h, &token, &loc).await, None, "the upload is gone");
        assert_eq!(moto.keys().await, Vec::<String>::new(), "{len} bytes");
    }
}

/// A chunk cut off mid-body is not part of the upload: the offset stays where the last
/// whole chunk left it, the client resumes from there, and the photo is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_interrupted_mid_chunk_resumes_from_the_last_whole_chunk() {
    let moto = Moto::start().await;
    let h = s3_harness(&moto).await;
    let photo = incompressible_bytes(3 * 1024 * 1024, 7);
    let sha = sha256_hex(&photo);
    let (token, _) = device_with_record(&h, &[&sha]).await;
    let loc = create(&h, &token, &sha, photo.len()).await;
    let first = 1024 * 1024;
    assert_eq!(patch(&h, &token, &loc, 0, &photo[..first]).await.0, 204);

    // A body that fails after half of the next chunk (a connection cut).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let cut = tokio::spawn(
        h.http
            .patch(h.url(&loc))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", first.to_string())
            .body(body)
            .send(),
    );
    tx.send(Ok(photo[first..first + 512 * 1024].to_vec()))
        .await
        .expect("send");
    tx.send(Err(std::io::Error::other("connection cut")))
        .await
        .expect("send");
    drop(tx);
    let _ = cut.await.expect("join");

    assert_eq!(head(&h, &token, &loc).await, Some(first as u64));
    assert_eq!(
        patch(&h, &token, &loc, first, &photo[first..]).await,
        (204, photo.len().to_string())
    );
    assert_eq!(
        moto.keys().await,
        vec![format!("{PREFIX}/photos/{sha}")],
        "the photo only"
    );
    assert_eq!(moto.object(&format!("{PREFIX}/photos/{sha}")).await, photo);
}

/// A chunk sent twice at the same offset at once (a client retrying on another
/// connection): one counts, the other is refused with 409, and the photo is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_patches_at_one_offset_never_interleave() {
    let moto = Moto::start().await;
    let h = s3_harness(&moto).await;
    let photo = incompressible_bytes(2 * 1024 * 1024, 8);
    let sha = sha256_hex(&photo);
    let (token, _) = device_with_record(&h, &[&sha]).await;
    let loc = create(&h, &token, &sha, photo.len()).await;
    let half = photo.len() / 2;
    let (a, b) = tokio::join!(
        patch(&h, &token, &loc, 0, &photo[..half]),
        patch(&h, &token, &loc, 0, &photo[..half + 1000]),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{a:?} {b:?}");
    let now = head(&h, &token, &loc).await.expect("offset") as usize;
    assert!(now == half || now == half + 1000, "{now}");
    assert_eq!(patch(&h, &token, &loc, now, &photo[now..]).await.0, 204);
    assert_eq!(moto.object(&format!("{PREFIX}/photos/{sha}")).await, photo);
}
