//! Is everything the device recorded on the server, exactly once and intact?

use crate::device::Device;
use crate::server::{Server, ServerRecord};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What [`assert_synced`] compared.
#[derive(Debug, Clone, Default)]
pub struct Synced {
    pub records: usize,
    pub inspections: usize,
    pub photos: usize,
    pub photo_bytes: u64,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts that the server holds every record of the device's chain exactly once (same
/// ids, `seq` = chain seq + 1, same payload hash and kind, accepted, no other record),
/// every photo byte-identical, every record complete; that the inspection export lists
/// each inspection once, `complete`, with the device's photo hashes; and that the
/// device's `status` agrees.
pub fn assert_synced(device: &Device, server: &Server) -> Synced {
    let chain = device.chain();
    let records = server.records();
    let by_id: BTreeMap<&str, &ServerRecord> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let chain_ids: BTreeSet<&str> = chain.iter().map(|l| l.record_id.as_str()).collect();
    assert_eq!(chain_ids.len(), chain.len(), "chain record ids are unique");
    let missing: Vec<_> = chain_ids
        .iter()
        .filter(|i| !by_id.contains_key(*i))
        .collect();
    let extra: Vec<_> = by_id.keys().filter(|i| !chain_ids.contains(*i)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "server records differ from the chain: {} missing {missing:?}, {} extra {extra:?}",
        missing.len(),
        extra.len()
    );
    assert_eq!(
        by_id.len(),
        records.len(),
        "no record id twice on the server"
    );
    assert_eq!(records.len(), chain.len());
    let devices: BTreeSet<&str> = records.iter().map(|r| r.device_id.as_str()).collect();
    assert_eq!(devices.len(), 1, "one device: {devices:?}");
    let status = device.status();
    assert_eq!(
        status["device_id"].as_str(),
        devices.first().copied(),
        "status names the server's device id"
    );

    let photos = device.photos();
    let photo_of: BTreeMap<&str, &str> = photos
        .iter()
        .map(|p| (p.id.as_str(), p.derived_sha256.as_str()))
        .collect();
    let inspection_photos = device.inspection_photos();
    let mut held = BTreeMap::new();
    for p in &photos {
        let on_server = server
            .photo(&p.derived_sha256)
            .unwrap_or_else(|| panic!("the server lacks photo {}", p.derived_sha256));
        assert_eq!(sha256_hex(&on_server), p.derived_sha256, "server file hash");
        let local = std::fs::read(device.photo_file(&p.derived_sha256)).expect("device photo");
        assert!(on_server == local, "photo {} differs", p.derived_sha256);
        assert_eq!(on_server.len() as u64, p.derived_bytes);
        held.insert(p.derived_sha256.clone(), on_server.len() as u64);
    }
    // Signature PNGs are files the server must hold as well.
    for (sha, png) in device.signature_pngs() {
        let on_server = server
            .photo(&sha)
            .unwrap_or_else(|| panic!("the server lacks signature {sha}"));
        assert!(on_server == png, "signature {sha} differs");
        held.insert(sha, on_server.len() as u64);
    }

    for link in &chain {
        let r = by_id[link.record_id.as_str()];
        let what = format!("record {} ({} seq {})", r.id, link.kind, link.seq);
        assert_eq!(r.seq, link.seq + 1, "{what}: protocol seq = chain seq + 1");
        assert_eq!(
            r.payload_sha256, link.payload_sha256,
            "{what}: payload hash"
        );
        assert_eq!(r.kind, link.wire_kind(), "{what}: kind");
        assert_eq!(r.state, "accepted", "{what}: state");
        for sha in &r.photos {
            assert!(held.contains_key(sha), "{what}: photo {sha} is not held");
        }
        match link.kind.as_str() {
            "photo" => {
                let derived = photo_of[link.record_id.as_str()];
                assert_eq!(
                    r.photos,
                    BTreeSet::from([derived.to_string()]),
                    "{what}: references its derived photo"
                );
            }
            "inspection" => {
                let want = inspection_photos
                    .get(&link.record_id)
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(r.photos, want, "{what}: its attached photos");
            }
            _ => {}
        }
    }

    let export = server.export();
    let inspections: Vec<_> = chain.iter().filter(|l| l.kind == "inspection").collect();
    let mut seen = BTreeSet::new();
    for e in &export {
        let id = e["record_id"].as_str().expect("record_id");
        assert!(seen.insert(id), "export lists {id} twice");
    }
    let want: BTreeSet<&str> = inspections.iter().map(|l| l.record_id.as_str()).collect();
    assert_eq!(seen, want, "export lists exactly the device's inspections");
    for e in &export {
        let id = e["record_id"].as_str().expect("record_id");
        assert_eq!(e["state"], "complete", "export {id}");
        let hashes: BTreeSet<String> = e["photo_hashes"]
            .as_array()
            .expect("photo_hashes")
            .iter()
            .map(|h| h.as_str().expect("hash").to_string())
            .collect();
        assert_eq!(
            Some(&hashes),
            inspection_photos.get(id).or(Some(&BTreeSet::new())),
            "export {id}: photo hashes are the device's derived photos"
        );
        assert_eq!(
            e["payload_sha256"].as_str(),
            Some(by_id[id].payload_sha256.as_str())
        );
    }

    let r = &status["records"];
    assert_eq!(
        r["complete"].as_u64(),
        Some(chain.len() as u64),
        "status: {status}"
    );
    for s in ["queued", "sending", "failed", "accepted", "rejected"] {
        assert_eq!(r[s].as_u64(), Some(0), "status records.{s}: {status}");
    }
    assert_eq!(
        status["photos"]["complete"].as_u64(),
        Some(held.len() as u64),
        "{status}"
    );
    assert_eq!(status["pending"].as_u64(), Some(0), "{status}");
    Synced {
        records: chain.len(),
        inspections: inspections.len(),
        photos: held.len(),
        photo_bytes: held.values().sum(),
    }
}

/// `gridwalk evidence verify` passes.
pub fn assert_evidence_verifies(device: &Device) {
    let o = device.run(&["evidence", "verify"]);
    assert!(
        o.status.success(),
        "evidence verify: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
