//! Protocol 2 over HTTP, against SQLite and PostgreSQL: reconciliation of what the server
//! holds of a device's sequence, forks of a phone restored from an older copy, withheld
//! payloads, and pull cursors bound to the database's epoch.

mod common;

use common::*;
use gridwalk_protocol::reconcile::range_digest;
use gridwalk_protocol::{
    HeldEntry, HeldStatus, RangeVerdict, ReconcileRequest, ReconcileResponse, RecordEnvelope,
    SeqRange,
};

both_databases!(
    reconcile_answers_same_when_nothing_changed_and_narrows_down_a_difference,
    a_restored_server_shows_what_it_lost_in_the_reconcile_answer,
    a_phone_restored_from_an_older_copy_forks_in_the_open,
    a_withheld_payload_takes_its_place_and_the_chain_goes_on,
    pull_cursors_carry_the_epoch_and_restart_when_stale,
    a_record_following_a_reused_one_in_the_same_push_forks_with_it,
    the_genesis_link_restarts_a_chain_only_at_the_start_or_as_a_marked_fork,
    a_push_longer_than_one_insert_statement_keeps_every_position,
    a_record_sent_twice_in_one_push_is_stored_once,
);

fn held(e: &RecordEnvelope, status: HeldStatus) -> HeldEntry {
    HeldEntry {
        seq: e.seq,
        id: e.id,
        payload_sha256: e.payload_sha256.clone(),
        status,
    }
}

fn range(from: u64, to: u64, entries: &[HeldEntry]) -> SeqRange {
    SeqRange {
        from,
        to,
        digest: range_digest(entries.iter().filter(|e| e.seq >= from && e.seq <= to)),
    }
}

async fn reconcile(h: &Harness, token: &str, ranges: Vec<SeqRange>) -> ReconcileResponse {
    let (status, v) = reconcile_raw(h, token, &serde_json::json!({ "ranges": ranges })).await;
    assert_eq!(status, 200, "{v}");
    serde_json::from_value(v).expect("reconcile answer")
}

async fn reconcile_raw(
    h: &Harness,
    token: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let resp = h
        .http
        .post(h.url("/v1/sync/reconcile"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("reconcile");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

fn status_of(v: &serde_json::Value, i: usize) -> String {
    let r = &v["results"][i];
    match r["status"].as_str() {
        Some("rejected") => format!("rejected:{}", r["code"].as_str().unwrap_or("")),
        other => other.unwrap_or("").to_string(),
    }
}

/// Nothing changed: each range is answered `same`. A range the server sees otherwise is
/// answered with its entries when short, or split into parts whose digests narrow the
/// difference down when long; the answer carries the epoch, the next position, the
/// missing photos and the limits.
async fn reconcile_answers_same_when_nothing_changed_and_narrows_down_a_difference(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let photo = "a".repeat(64);
    let records: Vec<_> = (1..=3)
        .map(|seq| {
            let photos: Vec<&str> = if seq == 2 { vec![&photo] } else { vec![] };
            let mut e = inspection(seq, &uscc_here(), &photos);
            if seq == 2 {
                e.payload = format!(
                    "{{\"answers\":{{\"q\":{{\"photo_sha256s\":[\"{photo}\"]}}}},\"enterprise_uscc\":\"{}\",\"n\":2}}",
                    uscc_here()
                );
                e.payload_sha256 = gridwalk_protocol::sha256_hex(e.payload.as_bytes());
            }
            chain.link(e, "inspection")
        })
        .collect();
    let (_, v) = h.push(&dev.token, &records).await;
    for i in 0..3 {
        assert_eq!(status_of(&v, i), "accepted", "{v}");
    }
    let mine: Vec<HeldEntry> = records.iter().map(|e| held(e, HeldStatus::Held)).collect();

    let answer = reconcile(h, &dev.token, vec![range(1, 3, &mine)]).await;
    assert_eq!(answer.next_seq, 4);
    assert!(!answer.epoch.is_empty());
    assert_eq!(answer.ranges.len(), 1);
    assert_eq!(answer.ranges[0].verdict, RangeVerdict::Same);
    assert_eq!(answer.missing_photos, vec![photo.clone()]);
    assert_eq!(answer.limits.max_payload_bytes, 1024 * 1024);
    // The cost of "nothing changed": one small request, one small answer.
    let body = serde_json::to_vec(&ReconcileRequest {
        ranges: vec![range(1, 3, &mine)],
    })
    .expect("json");
    assert!(body.len() < 200, "{} bytes", body.len());

    // The phone believes record 2 was refused: the short range comes back as entries.
    let mut believed = mine.clone();
    believed[1].status = HeldStatus::Rejected;
    let answer = reconcile(h, &dev.token, vec![range(1, 3, &believed)]).await;
    match &answer.ranges[0].verdict {
        RangeVerdict::Entries { entries } => assert_eq!(entries, &mine),
        other => panic!("expected entries, got {other:?}"),
    }
    // A long range is split; the part holding the difference differs, the others agree.
    let answer = reconcile(h, &dev.token, vec![range(1, 5000, &believed)]).await;
    let RangeVerdict::Split { parts } = &answer.ranges[0].verdict else {
        panic!("expected parts: {answer:?}");
    };
    assert_eq!(parts.len(), 16);
    assert_eq!((parts[0].from, parts[15].to), (1, 5000));
    assert_eq!(
        parts[0].digest,
        range(parts[0].from, parts[0].to, &mine).digest
    );
    assert_ne!(
        parts[0].digest,
        range(parts[0].from, parts[0].to, &believed).digest
    );
    assert_eq!(
        parts[1].digest,
        range(parts[1].from, parts[1].to, &believed).digest
    );

    // Ranges that cannot be meant are typed problems.
    for bad in [
        serde_json::json!({"ranges": [{"from": 0, "to": 3, "digest": "0".repeat(64)}]}),
        serde_json::json!({"ranges": [{"from": 4, "to": 3, "digest": "0".repeat(64)}]}),
        serde_json::json!({"ranges": [{"from": 1, "to": 3, "digest": "nope"}]}),
        serde_json::json!({"ranges": vec![serde_json::json!({"from": 1, "to": 3, "digest": "0".repeat(64)}); 65]}),
    ] {
        let (status, v) = reconcile_raw(h, &dev.token, &bad).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("malformed_body")),
            "{v}"
        );
    }
    // Ranges in order and apart: a request reads each position at most once.
    let overlapping = serde_json::json!({"ranges": [
        {"from": 1, "to": 3, "digest": "0".repeat(64)},
        {"from": 2, "to": 9, "digest": "0".repeat(64)}]});
    let (status, v) = reconcile_raw(h, &dev.token, &overlapping).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("malformed_body")),
        "{v}"
    );
    let (status, _) = reconcile_raw(h, "not-a-token", &serde_json::json!({"ranges": []})).await;
    assert_eq!(status, 401);
}

/// The server's database went back to before the device's last records (a backup):
/// the device's digest no longer matches, the entries show what is missing, and the
/// records sent again are taken in their old places, exactly once.
async fn a_restored_server_shows_what_it_lost_in_the_reconcile_answer(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let records: Vec<_> = (1..=3)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (_, v) = h.push(&dev.token, &records).await;
    assert_eq!(status_of(&v, 2), "accepted", "{v}");
    let mine: Vec<HeldEntry> = records.iter().map(|e| held(e, HeldStatus::Held)).collect();
    // What a restore from before record 3 leaves.
    let head2 = records[1].link.as_ref().expect("link").hash.clone();
    exec_sql(
        h,
        &format!(
            "DELETE FROM device_seq WHERE seq = 3; DELETE FROM record WHERE id = '{}'; \
             UPDATE device SET next_seq = 3, chain_head = '{head2}' WHERE id = '{}';",
            records[2].id, dev.device_id
        ),
    )
    .await;
    let answer = reconcile(h, &dev.token, vec![range(1, 3, &mine)]).await;
    assert_eq!(answer.next_seq, 3);
    match &answer.ranges[0].verdict {
        RangeVerdict::Entries { entries } => assert_eq!(entries, &mine[..2]),
        other => panic!("expected entries, got {other:?}"),
    }
    let (_, v) = h.push(&dev.token, &records).await;
    assert_eq!(
        (0..3).map(|i| status_of(&v, i)).collect::<Vec<_>>(),
        ["duplicate", "duplicate", "accepted"],
        "{v}"
    );
    let answer = reconcile(h, &dev.token, vec![range(1, 3, &mine)]).await;
    assert_eq!(answer.ranges[0].verdict, RangeVerdict::Same);
}

/// A phone restored from an older copy reuses sequence numbers the server holds: they are
/// refused `seq_reused` and nothing is stored. The phone forks: it renumbers its new
/// records after the server's last position, the first marked as a fork whose link
/// continues the last link both share. The server keeps both branches, marks the fork on
/// the record, and the chain goes on from the fork. A fork from a link the server does not
/// hold is a broken chain.
async fn a_phone_restored_from_an_older_copy_forks_in_the_open(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let first: Vec<_> = (1..=3)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (_, v) = h.push(&dev.token, &first).await;
    assert_eq!(status_of(&v, 2), "accepted", "{v}");

    // The restored copy holds record 1 only and makes a record of its own at chain
    // position 1 (sequence 2, already held by another record).
    let mut restored = TestChain {
        device: chain.device.clone(),
        head: first[0].link.as_ref().expect("link").hash.clone(),
    };
    let new_record = restored.link(inspection(2, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&new_record)).await;
    assert_eq!(status_of(&v, 0), "rejected:seq_reused", "{v}");
    assert_eq!(v["next_seq"], 4);

    let mut forked = new_record.clone();
    forked.seq = 4;
    forked.fork = true;
    let mut fork_chain = TestChain {
        device: chain.device.clone(),
        head: first[0].link.as_ref().expect("link").hash.clone(),
    };
    let forked = fork_chain.link_at(forked, "inspection", Some(1));
    let next = {
        let mut e = inspection(5, &uscc_here(), &[]);
        e.seq = 5;
        fork_chain.link_at(e, "inspection", Some(2))
    };
    let (_, v) = h.push(&dev.token, &[forked.clone(), next.clone()]).await;
    assert_eq!(
        (status_of(&v, 0), status_of(&v, 1)),
        ("accepted".into(), "accepted".into()),
        "{v}"
    );
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", forked.id))
        .await;
    assert_eq!(
        (st["branch"].as_u64(), st["fork_point"].as_u64()),
        (Some(1), Some(1)),
        "{st}"
    );
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", next.id))
        .await;
    assert_eq!(
        (st["branch"].as_u64(), st["fork_point"].as_u64()),
        (Some(1), None),
        "{st}"
    );
    // The first branch is still held as it was.
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", first[2].id))
        .await;
    assert_eq!(
        (st["state"].as_str(), st["branch"].as_u64()),
        (Some("complete"), Some(0)),
        "{st}"
    );

    // The other copy (the phone that kept the first branch) goes on too: it forks from
    // its own last link, as branch 2.
    let mut other = inspection(6, &uscc_here(), &[]);
    other.fork = true;
    let other = chain.link_at(other, "inspection", Some(3));
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&other)).await;
    assert_eq!(status_of(&v, 0), "accepted", "{v}");
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", other.id))
        .await;
    assert_eq!(
        (st["branch"].as_u64(), st["fork_point"].as_u64()),
        (Some(2), Some(3)),
        "{st}"
    );

    // A fork from a link this device's sequence does not hold is a break.
    let mut stranger = TestChain::new();
    stranger.device = chain.device.clone();
    stranger.head = "b".repeat(64);
    let mut bogus = inspection(7, &uscc_here(), &[]);
    bogus.fork = true;
    let bogus = stranger.link_at(bogus, "inspection", Some(9));
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&bogus)).await;
    assert_eq!(status_of(&v, 0), "rejected:chain_broken", "{v}");

    // The forked phone reconciles its own positions: 1, then 4 and 5.
    let mine = [
        held(&first[0], HeldStatus::Held),
        held(&forked, HeldStatus::Held),
        held(&next, HeldStatus::Held),
    ];
    let answer = reconcile(h, &dev.token, vec![range(1, 1, &mine), range(4, 5, &mine)]).await;
    assert!(
        answer
            .ranges
            .iter()
            .all(|r| r.verdict == RangeVerdict::Same),
        "{answer:?}"
    );
}

/// A record whose payload is over the server's limit is withheld by the phone: its link
/// and hash take its place, it is held as refused (`payload_too_large`), and the records
/// after it follow its link.
async fn a_withheld_payload_takes_its_place_and_the_chain_goes_on(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let mut big = inspection(1, &uscc_here(), &[]);
    big = chain.link(big, "inspection");
    big.payload = String::new();
    big.withheld = true;
    let after = chain.link(inspection(2, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[big.clone(), after]).await;
    assert_eq!(
        (status_of(&v, 0), status_of(&v, 1)),
        ("rejected:payload_too_large".into(), "accepted".into()),
        "{v}"
    );
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", big.id))
        .await;
    assert_eq!(st["state"], "rejected", "{st}");
    // A withheld record whose link does not hold is still a break.
    let mut broken = chain.link(inspection(3, &uscc_here(), &[]), "inspection");
    broken.payload = String::new();
    broken.withheld = true;
    broken.payload_sha256 = "c".repeat(64);
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&broken)).await;
    assert_eq!(status_of(&v, 0), "rejected:chain_broken", "{v}");
}

/// Pull cursors name the database's epoch. A cursor of another epoch (a new database, or
/// `admin new-epoch` after a restore), or past the end of the change log (a database
/// restored from a backup), restarts the pull from the beginning instead of skipping
/// changes; a protocol 1 cursor (a bare position) still works.
async fn pull_cursors_carry_the_epoch_and_restart_when_stale(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let (_, all) = h.get(&dev.token, "/v1/sync/pull?limit=1000").await;
    let n = all["changes"].as_array().map_or(0, Vec::len);
    assert!(n > 0, "{all}");
    let end = all["next_cursor"].as_str().expect("cursor").to_string();
    let (epoch, position) = end.split_once('.').expect("epoch.position");
    let count = |v: &serde_json::Value| v["changes"].as_array().map_or(0, Vec::len);
    let (_, v) = h
        .get(&dev.token, &format!("/v1/sync/pull?cursor={end}"))
        .await;
    assert_eq!(count(&v), 0, "{v}");
    let (_, v) = h
        .get(&dev.token, &format!("/v1/sync/pull?cursor={position}"))
        .await;
    assert_eq!(count(&v), 0, "a protocol 1 cursor: {v}");
    let (_, v) = h
        .get(
            &dev.token,
            &format!("/v1/sync/pull?cursor=elsewhere.{position}&limit=1000"),
        )
        .await;
    assert_eq!(count(&v), n, "another epoch restarts: {v}");
    let ahead: i64 = position.parse::<i64>().expect("position") + 1000;
    let (_, v) = h
        .get(
            &dev.token,
            &format!("/v1/sync/pull?cursor={epoch}.{ahead}&limit=1000"),
        )
        .await;
    assert_eq!(count(&v), n, "a cursor past the change log restarts: {v}");
    let (status, v) = h
        .get(&dev.token, &format!("/v1/sync/pull?cursor={epoch}.x"))
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("malformed_body")),
        "{v}"
    );

    let store = h.store.clone();
    let new = tokio::task::spawn_blocking(move || store.new_epoch())
        .await
        .expect("join")
        .expect("new epoch");
    assert_ne!(new, epoch);
    let (_, v) = h
        .get(
            &dev.token,
            &format!("/v1/sync/pull?cursor={end}&limit=1000"),
        )
        .await;
    assert_eq!(count(&v), n, "after a new epoch: {v}");
    assert!(
        v["next_cursor"]
            .as_str()
            .is_some_and(|c| c.starts_with(&new)),
        "{v}"
    );
}

/// Two copies of one phone database push at once. B's record takes position 3; A, with
/// a stale idea of the next position, pushes its X3 and X4 at 3 and 4. X3's position is
/// taken; X4 follows X3: both are answered `seq_reused`, nothing stored, so A's fork
/// delivers both (X4 is not burned as a broken chain).
async fn a_record_following_a_reused_one_in_the_same_push_forks_with_it(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let shared: Vec<_> = (1..=2)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (_, v) = h.push(&dev.token, &shared).await;
    assert_eq!(status_of(&v, 1), "accepted", "{v}");
    let head2 = chain.head.clone();
    let copy = |head: &str| TestChain {
        device: chain.device.clone(),
        head: head.to_string(),
    };
    let (mut a, mut b) = (copy(&head2), copy(&head2));
    let y3 = b.link(inspection(3, &uscc_here(), &[]), "inspection");
    let x3 = a.link(inspection(3, &uscc_here(), &[]), "inspection");
    let x4 = a.link(inspection(4, &uscc_here(), &[]), "inspection");
    let (_, v) = h.push(&dev.token, &[y3]).await;
    assert_eq!(status_of(&v, 0), "accepted", "{v}");
    let (_, v) = h.push(&dev.token, &[x3.clone(), x4.clone()]).await;
    assert_eq!(
        (status_of(&v, 0), status_of(&v, 1)),
        ("rejected:seq_reused".into(), "rejected:seq_reused".into()),
        "{v}"
    );
    assert_eq!(v["next_seq"], 4, "nothing taken: {v}");
    let mut fa = copy(&head2);
    let mut f3 = x3.clone();
    f3.seq = 4;
    f3.fork = true;
    let f3 = fa.link_at(f3, "inspection", Some(2));
    let mut f4 = x4.clone();
    f4.seq = 5;
    let f4 = fa.link_at(f4, "inspection", Some(3));
    let (_, v) = h.push(&dev.token, &[f3, f4]).await;
    assert_eq!(
        (status_of(&v, 0), status_of(&v, 1)),
        ("accepted".into(), "accepted".into()),
        "{v}"
    );
}

/// A record at a later position whose link claims chain position 0 (after the genesis
/// hash) would restart the device's chain without a mark: refused as a broken chain
/// unless it is marked as a fork, and then the fork is on the record.
async fn the_genesis_link_restarts_a_chain_only_at_the_start_or_as_a_marked_fork(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let first: Vec<_> = (1..=3)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (_, v) = h.push(&dev.token, &first).await;
    assert_eq!(status_of(&v, 2), "accepted", "{v}");
    let restart = |seq: u64, fork: bool| {
        let mut c = TestChain {
            device: chain.device.clone(),
            head: gridwalk_protocol::chain::GENESIS_PREV_HASH.into(),
        };
        let mut e = inspection(seq, &uscc_here(), &[]);
        e.fork = fork;
        c.link_at(e, "inspection", Some(0))
    };
    let (_, v) = h.push(&dev.token, &[restart(4, false)]).await;
    assert_eq!(status_of(&v, 0), "rejected:chain_broken", "{v}");
    let marked = restart(5, true);
    let (_, v) = h.push(&dev.token, std::slice::from_ref(&marked)).await;
    assert_eq!(status_of(&v, 0), "accepted", "{v}");
    let (_, st) = h
        .get(&dev.token, &format!("/v1/sync/records/{}", marked.id))
        .await;
    assert_eq!(
        (st["branch"].as_u64(), st["fork_point"].as_u64()),
        (Some(1), Some(0)),
        "{st}"
    );
}

/// A push's positions are written 100 rows per statement: 250 records in one push are
/// all held at their own positions (the server's digests of every range equal the
/// phone's), and a second push of them is answered duplicate, record by record.
async fn a_push_longer_than_one_insert_statement_keeps_every_position(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let mut chain = TestChain::new();
    let records: Vec<_> = (1..=250)
        .map(|seq| chain.link(inspection(seq, &uscc_here(), &[]), "inspection"))
        .collect();
    let (status, v) = h.push(&dev.token, &records).await;
    assert_eq!(status, 200, "{v}");
    assert!((0..250).all(|i| status_of(&v, i) == "accepted"), "{v}");
    let mine: Vec<HeldEntry> = records.iter().map(|e| held(e, HeldStatus::Held)).collect();
    let answer = reconcile(
        h,
        &dev.token,
        vec![
            range(1, 99, &mine),
            range(100, 101, &mine),
            range(102, 200, &mine),
            range(201, 250, &mine),
        ],
    )
    .await;
    assert_eq!(answer.next_seq, 251);
    for r in &answer.ranges {
        assert_eq!(r.verdict, RangeVerdict::Same, "{}..={}", r.from, r.to);
    }
    let (_, v) = h.push(&dev.token, &records).await;
    assert!((0..250).all(|i| status_of(&v, i) == "duplicate"), "{v}");
}

/// A push reads whether its ids are held once for the whole batch: a record sent again
/// later in the same push (a phone that resent it at a new position) is seen as held by
/// that push, answered duplicate at the position it was stored at, and stored once.
async fn a_record_sent_twice_in_one_push_is_stored_once(h: &Harness) {
    let dev = h.enroll("grid-east").await;
    let first = inspection(1, &uscc_here(), &[]);
    let second = inspection(2, &uscc_here(), &[]);
    let mut again = first.clone();
    again.seq = 3;
    let (status, v) = h.push(&dev.token, &[first.clone(), second, again]).await;
    assert_eq!(status, 200, "{v}");
    let got: Vec<String> = (0..3).map(|i| status_of(&v, i)).collect();
    assert_eq!(got, ["accepted", "accepted", "duplicate"], "{v}");
    let path = format!("/v1/sync/records/{}", first.id);
    let (s, r) = h.get(&dev.token, &path).await;
    assert_eq!((s, r["seq"].as_u64()), (200, Some(1)), "{r}");
    assert_eq!(r["state"], "complete", "{r}");
    let answer = reconcile(h, &dev.token, vec![]).await;
    assert_eq!(
        answer.next_seq, 4,
        "the resent record took its position too"
    );
}
