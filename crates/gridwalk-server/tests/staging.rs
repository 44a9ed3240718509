//! The staging register (the phone's store the server imports through, encrypted like
//! any phone database): one whose key is lost — a data directory restored without
//! `register.db.key` — is set aside and started afresh; imports go on, from the
//! divisions up (an enterprise file before them is refused naming them, as on a new
//! server).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_goes_on_when_the_staging_registers_key_is_lost() {
    let h = Harness::start(Db::Sqlite).await.expect("sqlite");
    let staging = h.data.staging_register();
    let mut key = staging.as_os_str().to_os_string();
    key.push(".key");
    assert!(
        std::path::Path::new(&key).exists(),
        "the staging register is encrypted"
    );
    std::fs::remove_file(&key).expect("lose the key");

    let path = h.dir.path().join("divisions-again.csv");
    std::fs::write(&path, divisions_csv()).expect("csv");
    let staging2 = staging.clone();
    blocking(&h, move |s| {
        gridwalk_server::register::import(
            s,
            &staging2,
            gridwalk_server::register::RegisterFile::Divisions,
            &path,
        )
        .expect("divisions again");
    })
    .await;
    let u = uscc("91320413MA1XY0099");
    import_enterprises_csv(
        &h,
        format!("name,uscc,village_code,dust_types\n金坛东村新材料有限公司,{u},{VILLAGE},铝粉\n"),
    )
    .await;
    let officer = officer_session(&h, "officer-jincheng", TOWN).await;
    let (status, v) = h.get(&officer, &format!("/v1/enterprises?q={u}")).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v.to_string().contains(&u),
        "the new enterprise is published: {v}"
    );
    let set_aside = std::fs::read_dir(h.data.0.clone())
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("unreadable"))
        .count();
    assert!(set_aside >= 1, "the old staging register is kept aside");
    h.stop().await;
}
