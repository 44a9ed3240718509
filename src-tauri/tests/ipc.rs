//! The IPC contract (docs/ipc.md) without a display: the same handler list as the app,
//! a mock runtime, a real device database, real photos from the shared test data.

use gridwalk_app_lib::handlers;
use gridwalk_app_lib::state::{AppState, LocalUser};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tauri::http::{HeaderMap, HeaderName, HeaderValue};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

fn testdata() -> PathBuf {
    std::env::var_os("GRIDWALK_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata"))
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("photos").join(name)).expect("test photo")
}

fn uscc(serial: &str) -> String {
    gridwalk_core::Uscc::with_check_char(&format!("91320413MA{serial}"))
        .expect("uscc")
        .to_string()
}

/// Two enterprises in 西城街道 (320413001…): a precision-machinery shop and an
/// aluminium polisher; one in 儒林镇 with wood dust.
fn register_csv() -> String {
    format!(
        "name,uscc,village_code,dust_types,workers_per_shift\n\
         金坛新城精密机械有限公司,{},320413001001,,\n\
         金坛新城铝业抛光有限公司,{},320413001001,铝粉,20\n\
         儒林木业有限公司,{},320413104206,木粉,5\n",
        uscc("0000001"),
        uscc("0000002"),
        uscc("0000003"),
    )
}

struct App {
    _app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

fn app(db: &Path, user: Option<LocalUser>) -> App {
    let state = AppState::open(db.to_path_buf()).expect("open store");
    {
        let store = state.store().expect("lock");
        store
            .import_divisions(&testdata().join("divisions/jintan.csv"))
            .expect("divisions");
        let csv = db.parent().expect("dir").join("e.csv");
        std::fs::write(&csv, register_csv()).expect("csv");
        store.import_enterprises(&csv).expect("import");
    }
    state.set_local_user(user);
    let app = mock_builder()
        .invoke_handler(handlers())
        .build(mock_context(noop_assets()))
        .expect("app");
    app.manage(state);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("webview");
    App { _app: app, webview }
}

fn expert() -> Option<LocalUser> {
    Some(LocalUser {
        name: "李专家".into(),
        role: "expert".into(),
        jurisdiction: "320413001".into(),
    })
}

fn request(
    webview: &WebviewWindow<MockRuntime>,
    cmd: &str,
    body: InvokeBody,
    headers: HeaderMap,
) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body,
            headers,
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("json body"))
}

fn invoke(webview: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    request(webview, cmd, InvokeBody::Json(body), HeaderMap::new())
}

fn ok(webview: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Value {
    invoke(webview, cmd, body.clone()).unwrap_or_else(|e| panic!("{cmd} {body}: {e}"))
}

fn invoke_raw(
    webview: &WebviewWindow<MockRuntime>,
    cmd: &str,
    bytes: Vec<u8>,
    headers: &[(&'static str, &str)],
) -> Result<Value, Value> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).expect("ascii header"),
        );
    }
    request(webview, cmd, InvokeBody::Raw(bytes), map)
}

const DEVICE_TIME: &str = "2026-03-02T10:15:00+08:00";

fn attach(
    webview: &WebviewWindow<MockRuntime>,
    inspection: &str,
    item: &str,
    file: &str,
) -> Result<Value, Value> {
    invoke_raw(
        webview,
        "attach_photo",
        photo(file),
        &[
            ("gridwalk-inspection-id", inspection),
            ("gridwalk-item-id", item),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
}

/// A tiny valid PNG (1×1, from a real encoder's output).
fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&[
        0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15,
        0xc4, 0x89, 0, 0, 0, 0x0d, b'I', b'D', b'A', b'T', 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0,
        0xf0, 0x1f, 0, 0x05, 0, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0, 0, 0, 0, b'I', b'E', b'N',
        b'D', 0xae, 0x42, 0x60, 0x82,
    ]);
    v
}

// ---- the first shell's commands (kept) ----

#[test]
fn register_search_finds_an_enterprise_by_pinyin_initials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), None);
    let hits = ok(
        &a.webview,
        "register_search",
        json!({ "query": "jtxcjm", "limit": 5 }),
    );
    assert_eq!(hits[0]["name"], "金坛新城精密机械有限公司");
    assert_eq!(hits[0]["village_code"], "320413001001");
}

#[test]
fn an_unknown_enterprise_comes_back_as_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), None);
    let err = invoke(
        &a.webview,
        "get_enterprise",
        json!({ "key": "91110000600037341L" }),
    )
    .expect_err("error");
    assert_eq!(
        err,
        json!({"code": "store.not_found", "message": "enterprise not found: 91110000600037341L"})
    );
}

// ---- app and settings ----

#[test]
fn app_state_is_not_enrolled_without_a_user_and_names_the_jurisdiction_with_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), None);
    let s = ok(&a.webview, "app_state", json!({}));
    assert_eq!(s["enrolled"], false);
    assert_eq!(s["user"], Value::Null);
    assert_eq!(s["platform"], "desktop");
    assert_eq!(s["device_id"].as_str().expect("id").len(), 36);
    // The area `app`: commands that need a user are refused with a pinned error.
    let err = invoke(&a.webview, "grid_summary", json!({})).expect_err("not enrolled");
    assert_eq!(
        err,
        json!({"code": "app.not_enrolled",
               "message": "no user on this device: enroll it (or set GRIDWALK_USER for development)"})
    );
    drop(a);
    let a = app(&dir.path().join("d2.db"), expert());
    let s = ok(&a.webview, "app_state", json!({}));
    assert_eq!(s["enrolled"], true);
    assert_eq!(
        s["user"],
        json!({"name": "李专家", "role": "expert", "jurisdiction": "320413001",
               "jurisdiction_name": "西城街道"})
    );
}

#[test]
fn settings_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), None);
    assert_eq!(
        ok(&a.webview, "get_settings", json!({})),
        json!({"wifi_only_photos": true, "language": "zh"})
    );
    let s = json!({"wifi_only_photos": false, "language": "en"});
    assert_eq!(ok(&a.webview, "set_settings", json!({ "settings": s })), s);
    assert_eq!(ok(&a.webview, "get_settings", json!({})), s);
}

// ---- grid and register ----

#[test]
fn search_lists_the_jurisdiction_and_applies_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), expert());
    let all = ok(
        &a.webview,
        "search_enterprises",
        json!({"query": "", "filters": {}, "limit": 50}),
    );
    let names: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|h| h["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names.len(), 2, "only 西城街道: {names:?}");
    assert!(all
        .as_array()
        .expect("a")
        .iter()
        .all(|h| h["matched"] == "all"));
    let metal = ok(
        &a.webview,
        "search_enterprises",
        json!({"query": "", "filters": {"dust_category": "metal", "leased": false}, "limit": 50}),
    );
    assert_eq!(metal.as_array().expect("a").len(), 1);
    assert_eq!(metal[0]["name"], "金坛新城铝业抛光有限公司");
    assert_eq!(metal[0]["dust_types"], json!(["铝粉"]));
    for key in [
        "leased",
        "visited",
        "open_hazards",
        "overdue_hazards",
        "village_name",
    ] {
        assert!(metal[0].get(key).is_some(), "hit lacks {key}");
    }
    let wood = ok(
        &a.webview,
        "search_enterprises",
        json!({"query": "木业", "filters": {"dust_category": "wood_paper"}, "limit": 5}),
    );
    assert_eq!(wood, json!([]), "a query keeps to the jurisdiction");
    let precise = ok(
        &a.webview,
        "search_enterprises",
        json!({"query": "精密", "filters": {}, "limit": 5}),
    );
    assert_eq!(precise[0]["name"], "金坛新城精密机械有限公司");
    assert_eq!(precise[0]["matched"], "name");
    let err = invoke(
        &a.webview,
        "search_enterprises",
        json!({"query": "  ", "filters": {}, "limit": 5}),
    )
    .expect_err("blank");
    assert_eq!(err["code"], "store.bad_query");
    let summary = ok(&a.webview, "grid_summary", json!({}));
    assert_eq!(
        summary,
        json!({"jurisdiction_name": "西城街道", "enterprises": 2, "visited": 0, "not_visited": 2,
               "open_hazards": 0, "overdue_hazards": 0})
    );
    let status = ok(
        &a.webview,
        "enterprise_status",
        json!({"key": uscc("0000002")}),
    );
    assert_eq!(status["dust_confirmed"], Value::Null);
}

// ---- inspections, evidence and hazards: the done-when flow ----

fn start(a: &App, enterprise: &str, template: &str) -> String {
    ok(
        &a.webview,
        "start_inspection",
        json!({"enterprise": enterprise, "template_id": template, "template_version": null}),
    )["inspection_id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn answer(a: &App, id: &str, item: &str, value: &str) -> Value {
    ok(
        &a.webview,
        "answer_item",
        json!({"inspection_id": id, "item_id": item, "value": value, "note": null}),
    )
}

/// The shared dust-verification answers (`tests/fixtures/dust-verification-aluminium.txt`).
fn dust_answers() -> Vec<(&'static str, &'static str)> {
    include_str!("../../tests/fixtures/dust-verification-aluminium.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect()
}

/// The expert's dust verification: aluminium dust, one dry collector, no control measure.
fn verify_dust(a: &App, enterprise: &str) {
    let id = start(a, enterprise, "dust-verification");
    for (item, v) in dust_answers() {
        answer(a, &id, item, v);
    }
    attach(&a.webview, &id, "DV-22", "gps__DSCN0010.jpg").expect("photo");
    sign(&a.webview, &id, "%E7%8E%8B%E7%BB%8F%E7%90%86").expect("signature");
    ok(
        &a.webview,
        "finalize_inspection",
        json!({"inspection_id": id}),
    );
}

/// `attach_signature` with the test PNG; `signer` percent-encoded.
fn sign(
    webview: &WebviewWindow<MockRuntime>,
    inspection: &str,
    signer: &str,
) -> Result<Value, Value> {
    sign_png(webview, inspection, signer, png())
}

fn sign_png(
    webview: &WebviewWindow<MockRuntime>,
    inspection: &str,
    signer: &str,
    bytes: Vec<u8>,
) -> Result<Value, Value> {
    invoke_raw(
        webview,
        "attach_signature",
        bytes,
        &[
            ("gridwalk-inspection-id", inspection),
            ("gridwalk-signer", signer),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
}

#[test]
fn done_when_search_inspect_photo_sign_finalize_lists_a_major_hazard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), expert());
    let w = &a.webview;

    // Search by pinyin initials, open the enterprise.
    let hits = ok(
        w,
        "search_enterprises",
        json!({"query": "jtxc", "filters": {}, "limit": 10}),
    );
    let hit = hits
        .as_array()
        .expect("array")
        .iter()
        .find(|h| h["name"] == "金坛新城铝业抛光有限公司")
        .expect("found by jtxc")
        .clone();
    assert_eq!(hit["matched"], "pinyin");
    let enterprise_id = hit["id"].as_str().expect("id").to_string();
    let detail = ok(w, "get_enterprise", json!({"key": enterprise_id}));
    assert_eq!(detail["uscc"], uscc("0000002"));
    assert_eq!(detail["name"], "金坛新城铝业抛光有限公司");

    let templates = ok(w, "list_templates", json!({}));
    assert!(templates
        .as_array()
        .expect("a")
        .iter()
        .any(|t| t["id"] == "expert-major-hazard"));

    verify_dust(&a, &enterprise_id);
    let status = ok(w, "enterprise_status", json!({"key": enterprise_id}));
    assert_eq!(status["dust_confirmed"]["by"], "李专家");

    // The expert's major-hazard inspection.
    let id = start(&a, &enterprise_id, "expert-major-hazard");
    let items = ok(w, "inspection_items", json!({"inspection_id": id}));
    let items = items.as_array().expect("array").clone();
    let mh03 = items
        .iter()
        .find(|i| i["id"] == "MH-D-03")
        .expect("MH-D-03 applies: dry collector confirmed");
    assert_eq!(mh03["major_hazard"], true);
    assert_eq!(mh03["fail_when"], "yes");
    assert_eq!(mh03["photos"], json!([]));
    assert_eq!(mh03["legal_basis"], "10号令 第十一条(三)");
    // The optional duty questions (DT-*) are left open, as an expert may.
    for i in items
        .iter()
        .filter(|i| i["answer_type"] == "yes_no_na" && i["required"] == true)
    {
        let item = i["id"].as_str().expect("id");
        let v = match item {
            "MH-D-03" => "是",
            x if x.starts_with("R6") => "yes",
            _ => "no",
        };
        answer(&a, &id, item, v);
    }
    let view = ok(
        w,
        "answer_item",
        json!({"inspection_id": id, "item_id": "MH-D-03", "value": "yes", "note": "布袋除尘器无泄爆片"}),
    );
    assert_eq!(view["id"], "MH-D-03");
    assert_eq!(
        view["answer"]["value"],
        json!({"type": "yes_no_na", "value": "yes"})
    );
    assert_eq!(view["answer"]["note"], "布袋除尘器无泄爆片");

    // The area `inspect`: finalize refused with what is missing, pinned.
    let err =
        invoke(w, "finalize_inspection", json!({"inspection_id": id})).expect_err("incomplete");
    assert_eq!(err["code"], "inspect.incomplete");
    assert_eq!(
        err["missing"],
        json!({"unanswered": ["MH-PHOTO"], "photo_missing": ["MH-D-03"], "invalid": []})
    );
    assert_eq!(
        err["message"],
        "cannot finalize, the inspection is incomplete:\n  unanswered: MH-PHOTO\n  failed item needs a photo: MH-D-03"
    );
    let err = invoke(
        w,
        "answer_item",
        json!({"inspection_id": id, "item_id": "MH-PHOTO", "value": "x", "note": null}),
    )
    .expect_err("photo item");
    assert_eq!(err["code"], "inspect.photo_item");

    // Photos as raw bodies.
    let p = attach(w, &id, "MH-D-03", "gps__DSCN0021.jpg").expect("photo");
    assert_eq!(p["item_id"], "MH-D-03");
    assert_eq!(p["sha256"].as_str().expect("sha").len(), 64);
    assert!(p["stamp_flags"].is_array());
    let thumb = p["thumbnail_jpeg_base64"].as_str().expect("b64");
    assert!(thumb.starts_with("/9j/"), "a JPEG in base64");
    assert_eq!(
        ok(w, "photo_thumbnail", json!({"sha256": p["sha256"]}))["thumbnail_jpeg_base64"],
        thumb
    );
    attach(w, &id, "MH-PHOTO", "gps__DSCN0029.jpg").expect("photo item");
    let items = ok(w, "inspection_items", json!({"inspection_id": id}));
    let mh03 = items
        .as_array()
        .expect("a")
        .iter()
        .find(|i| i["id"] == "MH-D-03")
        .expect("item")
        .clone();
    assert_eq!(mh03["photos"], json!([p["sha256"]]));

    // Complete, but the expert checklist needs the enterprise's signature.
    let err = invoke(w, "finalize_inspection", json!({"inspection_id": id})).expect_err("unsigned");
    assert_eq!(err["code"], "inspect.signature_required");
    // The signature, then finalize.
    let sig = invoke_raw(
        w,
        "attach_signature",
        png(),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-signer", "%E7%8E%8B%E7%BB%8F%E7%90%86"),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
    .expect("signature");
    assert_eq!(sig["sha256"].as_str().expect("sha").len(), 64);
    let out = ok(w, "finalize_inspection", json!({"inspection_id": id}));
    assert_eq!(out["payload_sha256"].as_str().expect("sha").len(), 64);
    assert_eq!(out["hazards"].as_array().expect("a").len(), 1);
    let late = invoke_raw(
        w,
        "attach_signature",
        png(),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-signer", "x"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("finalized");
    assert_eq!(late["code"], "inspect.already_finalized");

    // The major hazard citing 10号令 第十一条(三).
    let hazards = ok(
        w,
        "list_hazards",
        json!({"enterprise_id": null, "open_only": true}),
    );
    let hazards = hazards.as_array().expect("array");
    assert_eq!(hazards.len(), 1);
    let h = &hazards[0];
    assert_eq!(h["item_id"], "MH-D-03");
    assert_eq!(h["severity"], "major");
    assert_eq!(h["legal_basis"], "10号令 第十一条(三)");
    assert_eq!(h["state"], "found");
    assert_eq!(h["enterprise_name"], "金坛新城铝业抛光有限公司");
    assert_eq!(
        ok(
            w,
            "list_hazards",
            json!({"enterprise_id": enterprise_id, "open_only": false})
        )
        .as_array()
        .expect("a")
        .len(),
        1
    );

    let hazard_id = h["id"].as_str().expect("id").to_string();
    let detail = ok(w, "get_hazard", json!({"hazard_id": hazard_id}));
    assert_eq!(detail["severity"], "major");
    assert_eq!(detail["events"][0]["kind"], "created");

    // The area `hazard`: reinspecting a hazard nobody rectified is refused.
    let before = ok(w, "get_inspection", json!({"inspection_id": id}));
    assert_eq!(before["status"], "finalized");
    assert_eq!(
        before["findings"][0]["legal_basis_text"],
        "10号令 第十一条(三)"
    );
    let after = invoke_raw(
        w,
        "add_photo",
        photo("gps__DSCN0029.jpg"),
        &[
            ("gridwalk-enterprise-id", &enterprise_id),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
    .expect("add_photo");
    assert_eq!(after["item_id"], Value::Null);
    let err = invoke(
        w,
        "reinspect_hazard",
        json!({"hazard_id": hazard_id, "passed": true, "before_photo_sha256s": [p["sha256"]],
               "after_photo_sha256s": [after["sha256"]], "note": null}),
    )
    .expect_err("not rectifying");
    assert_eq!(err["code"], "hazard.illegal_transition");

    // Rectified (recorded on the store: the app has no command for it yet); a passed
    // re-inspection without an after-photo is refused, a failed one is not.
    {
        use gridwalk_device::inspection::checklist::HazardEventKind;
        let state = a._app.state::<AppState>();
        let store = state.store().expect("store");
        for kind in [
            HazardEventKind::Assigned {
                to: "企业".into()
            },
            HazardEventKind::RectificationStarted,
        ] {
            store
                .hazard_transition(&hazard_id, "李专家", kind)
                .expect("step");
        }
    }
    let err = invoke(
        w,
        "reinspect_hazard",
        json!({"hazard_id": hazard_id, "passed": true, "before_photo_sha256s": [p["sha256"]],
               "after_photo_sha256s": [], "note": null}),
    )
    .expect_err("no after-photo");
    assert_eq!(err["code"], "hazard.after_photo_required");
    let failed = ok(
        w,
        "reinspect_hazard",
        json!({"hazard_id": hazard_id, "passed": false, "before_photo_sha256s": [],
               "after_photo_sha256s": [], "note": "未整改"}),
    );
    assert_eq!(failed["state"], "rectifying");
    let passed = ok(
        w,
        "reinspect_hazard",
        json!({"hazard_id": hazard_id, "passed": true, "before_photo_sha256s": [p["sha256"]],
               "after_photo_sha256s": [after["sha256"]], "note": null}),
    );
    assert_eq!(passed["state"], "reinspected");

    // History and summary.
    let list = ok(
        w,
        "list_inspections",
        json!({"enterprise_id": enterprise_id}),
    );
    let list = list.as_array().expect("a");
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[0]["template_id"], "expert-major-hazard",
        "newest first"
    );
    assert_eq!(list[0]["status"], "finalized");
    assert_eq!(list[0]["major_findings"], 1);
    assert_eq!(
        list[0]["sync_state"], "queued",
        "finalize queues the record"
    );
    let summary = ok(w, "grid_summary", json!({}));
    assert_eq!(summary["visited"], 1);
    assert_eq!(summary["not_visited"], 1);
    assert_eq!(summary["open_hazards"], 1);
    let open = ok(
        w,
        "search_enterprises",
        json!({"query": "", "filters": {"open_hazards": true}, "limit": 10}),
    );
    assert_eq!(open.as_array().expect("a").len(), 1);
    assert_eq!(open[0]["visited"], true);
    assert_eq!(open[0]["open_hazards"], 1);
}

// ---- officers' work and 五定 (protocol 3) ----

/// Applies `(kind, body)` changes to the app's store as one pulled page.
fn pull(a: &App, changes: Vec<(gridwalk_protocol::ChangeKind, Value)>, next: &str) {
    let state = a._app.state::<AppState>();
    let store = state.store().expect("store");
    let page = gridwalk_protocol::PullPage {
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, (kind, body))| gridwalk_protocol::Change {
                cursor: (i + 1).to_string(),
                kind,
                key: format!("k{i}"),
                body,
            })
            .collect(),
        next_cursor: next.into(),
        has_more: false,
    };
    store.apply_pull_page(&page).expect("page");
}

#[test]
fn the_five_fixes_assignments_and_reviews_over_the_ipc() {
    use gridwalk_protocol::ChangeKind;
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), expert());
    let w = &a.webview;
    let (inspection, hazard, _) = major_hazard(&a, &uscc("0000002"));
    let deadline = ok(w, "get_hazard", json!({"hazard_id": hazard}))["deadline"]
        .as_str()
        .expect("deadline")
        .to_string();
    let sooner = chrono::NaiveDate::parse_from_str(&deadline, "%Y-%m-%d")
        .expect("date")
        .pred_opt()
        .expect("day before")
        .to_string();
    let later = chrono::NaiveDate::parse_from_str(&deadline, "%Y-%m-%d")
        .expect("date")
        .succ_opt()
        .expect("day after")
        .to_string();
    let plan = |deadline: &str, responsible: &str| {
        json!({"hazard_id": hazard, "measures": "加装泄爆片", "responsible": responsible,
               "funds_yuan": 48000, "deadline": deadline, "interim_measures": "停用3号除尘器"})
    };
    let d = ok(w, "set_hazard_plan", plan(&sooner, "王建国"));
    assert_eq!(d["deadline"], sooner);
    assert_eq!(
        d["detail"]["plan"],
        json!({"measures": "加装泄爆片", "responsible": "王建国", "funds_yuan": 48000,
               "deadline": sooner, "interim_measures": "停用3号除尘器"})
    );
    let last = d["events"].as_array().expect("events").last().cloned();
    let last = last.expect("an event");
    assert_eq!(
        (&last["kind"], &last["actor"], &last["skipped_reason"]),
        (&json!("plan_set"), &json!("李专家"), &Value::Null),
        "recorded as the enrolled user"
    );
    let err = invoke(w, "set_hazard_plan", plan(&later, "王建国")).expect_err("later");
    assert_eq!(
        err,
        json!({"code": "hazard.plan_deadline_later",
               "message": format!("hazard transition refused: the plan's deadline {later} is after the hazard's deadline {sooner}; an officer extends deadlines")})
    );
    let err = invoke(w, "set_hazard_plan", plan("明天", "王建国")).expect_err("date");
    assert_eq!(err["code"], "hazard.bad_date");
    let err = invoke(w, "set_hazard_plan", plan(&sooner, " ")).expect_err("blank");
    assert_eq!(
        err,
        json!({"code": "hazard.plan_incomplete",
               "message": "the rectification plan's responsible is empty"})
    );

    // Assignments of the acting user, and the review of its inspection, pulled.
    let today = gridwalk_checklist::hazard::china_date(chrono::Utc::now());
    let enterprise = gridwalk_core::ids::enterprise_id(
        &gridwalk_core::Uscc::parse(&uscc("0000002")).expect("uscc"),
    );
    let assignment = |assignee: &str, due: chrono::NaiveDate, status: &str| {
        json!({"id": uuid::Uuid::now_v7(), "enterprise_id": enterprise,
               "enterprise_uscc": uscc("0000002"), "division_code": "320413001001",
               "assignee": assignee, "template_id": "expert-major-hazard", "due": due,
               "note": "复查泄爆片", "status": status, "assigned_by": "officer-li",
               "created_at": "2026-03-01T01:00:00Z", "updated_at": "2026-03-01T01:00:00Z"})
    };
    let yesterday = today.pred_opt().expect("yesterday");
    pull(
        &a,
        vec![
            (
                ChangeKind::Assignment,
                assignment("李专家", yesterday, "open"),
            ),
            (
                ChangeKind::Assignment,
                assignment("李专家", today, "cancelled"),
            ),
            (ChangeKind::Assignment, assignment("赵网格", today, "open")),
            (
                ChangeKind::Review,
                json!({"inspection_id": inspection, "record_id": inspection,
                       "state": "has_issues", "comment": "铭牌照片不清", "reviewer": "officer-li",
                       "at": "2026-03-03T02:00:00Z"}),
            ),
        ],
        "1",
    );
    let mine = ok(w, "list_assignments", json!({}));
    let mine = mine.as_array().expect("array");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["overdue"], true);
    assert_eq!(mine[0]["enterprise_name"], "金坛新城铝业抛光有限公司");
    assert_eq!(mine[0]["note"], "复查泄爆片");
    assert_eq!(
        ok(w, "list_assignments", json!({"all": true}))
            .as_array()
            .expect("array")
            .len(),
        2
    );
    let review = json!({"state": "has_issues", "comment": "铭牌照片不清",
                        "reviewer": "officer-li", "at": "2026-03-03T02:00:00Z"});
    assert_eq!(
        ok(w, "get_review", json!({"inspection_id": inspection})),
        review
    );
    assert_eq!(
        ok(w, "get_inspection", json!({"inspection_id": inspection}))["review"],
        review
    );
    let history = ok(
        w,
        "list_inspections",
        json!({"enterprise_id": uscc("0000002")}),
    );
    assert_eq!(history[0]["id"], json!(inspection));
    assert_eq!(history[0]["review_state"], "has_issues");
    let err = invoke(
        w,
        "get_review",
        json!({"inspection_id": uuid::Uuid::now_v7()}),
    )
    .expect_err("not on the phone");
    assert_eq!(err["code"], "inspect.not_found");
}

// ---- evidence that holds up: roles, texts, signatures ----

fn grid_worker() -> Option<LocalUser> {
    Some(LocalUser {
        name: "赵网格".into(),
        role: "grid_worker".into(),
        jurisdiction: "320413001".into(),
    })
}

#[test]
fn a_grid_worker_cannot_start_the_experts_checklist_and_an_expert_not_the_survey() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), grid_worker());
    let w = &a.webview;
    let start_as = |template: &str| {
        invoke(
            w,
            "start_inspection",
            json!({"enterprise": uscc("0000002"), "template_id": template, "template_version": null}),
        )
    };
    for template in ["expert-major-hazard", "dust-verification"] {
        let err = start_as(template).expect_err(template);
        assert_eq!(err["code"], "inspect.role_not_allowed", "{template}");
    }
    let sv = start_as("grid-survey").expect("own template");
    let sv = sv["inspection_id"].as_str().expect("id").to_string();
    // A draft an expert started before the rule existed cannot be finalized.
    {
        let state = a._app.state::<AppState>();
        let store = state.store().expect("store");
        store
            .connection()
            .execute("UPDATE inspection SET role = 'expert' WHERE id = ?1", [&sv])
            .expect("old row");
    }
    let err = invoke(w, "finalize_inspection", json!({"inspection_id": sv})).expect_err("role");
    assert_eq!(err["code"], "inspect.role_not_allowed");
    let dir2 = tempfile::tempdir().expect("tempdir");
    let b = app(&dir2.path().join("d.db"), expert());
    let err = invoke(
        &b.webview,
        "start_inspection",
        json!({"enterprise": uscc("0000002"), "template_id": "grid-survey", "template_version": null}),
    )
    .expect_err("expert on the survey");
    assert_eq!(err["code"], "inspect.role_not_allowed");
}

#[test]
fn texts_and_signatures_are_bounded_over_the_ipc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), expert());
    let w = &a.webview;
    let id = start(&a, &uscc("0000002"), "dust-verification");
    let long_note = "注".repeat(gridwalk_protocol::limits::MAX_NOTE_CHARS + 1);
    let err = invoke(
        w,
        "answer_item",
        json!({"inspection_id": id, "item_id": "DV-07", "value": "yes", "note": long_note}),
    )
    .expect_err("long note");
    assert_eq!(err["code"], "inspect.text_too_long");
    let long_answer = "铝".repeat(gridwalk_protocol::limits::MAX_ANSWER_CHARS + 1);
    let err = invoke(
        w,
        "answer_item",
        json!({"inspection_id": id, "item_id": "DV-21", "value": long_answer, "note": null}),
    )
    .expect_err("long answer");
    assert_eq!(err["code"], "inspect.text_too_long");
    // Signatures: a 30 MiB "PNG" of zeros, a header without pixels, a long name.
    let mut zeros = b"\x89PNG\r\n\x1a\n".to_vec();
    zeros.resize(30 * 1024 * 1024, 0);
    let err = sign_png(w, &id, "x", zeros).expect_err("zeros");
    assert_eq!(err["code"], "signature.too_large");
    let err = sign_png(w, &id, "x", png()[..40].to_vec()).expect_err("no pixels");
    assert_eq!(err["code"], "signature.bad_image");
    let long_signer = "%E5%BC%A0".repeat(gridwalk_protocol::limits::MAX_NAME_CHARS + 1);
    let err = sign(w, &id, &long_signer).expect_err("long signer");
    assert_eq!(err["code"], "inspect.text_too_long");
    for n in 0..4 {
        sign(w, &id, &format!("signer{n}")).expect("signature");
    }
    let err = sign(w, &id, "fifth").expect_err("fifth");
    assert_eq!(err["code"], "signature.too_many");
}

#[test]
fn ipc_errors_carry_codes_and_messages_but_no_file_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("d.db");
    let a = app(&db, expert());
    let w = &a.webview;
    // A photo whose thumbnail file went missing on the phone.
    let p = invoke_raw(
        w,
        "add_photo",
        photo("gps__DSCN0029.jpg"),
        &[
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
    .expect("add_photo");
    for entry in std::fs::read_dir(dir.path().join("photos")).expect("photo dir") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".thumb.jpg") {
            std::fs::remove_file(path).expect("remove");
        }
    }
    let err = invoke(w, "photo_thumbnail", json!({"sha256": p["sha256"]})).expect_err("missing");
    assert_eq!(err["code"], "evidence.read_failed");
    let msg = err["message"].as_str().expect("message");
    assert!(!msg.contains('/'), "no path in {msg}");
    assert!(msg.contains("<path>"), "{msg}");
    // The sync lock file cannot be created (a directory is in its place).
    std::fs::create_dir(dir.path().join("d.db.sync-lock")).expect("mkdir");
    let err = invoke(
        w,
        "enroll",
        json!({"server_url": "http://127.0.0.1:9", "code": "AAAA-BBBB-CCCC"}),
    )
    .expect_err("lock file");
    assert_eq!(err["code"], "sync.lock_file");
    let msg = err["message"].as_str().expect("message");
    assert!(!msg.contains('/'), "no path in {msg}");
    assert!(!msg.contains(dir.path().to_str().expect("utf8")), "{msg}");
}

// ---- device queries keep to the enrolled jurisdiction ----

/// `record_lease` as the phone UI calls it: a new site and a new tenant, offline; the
/// tenant is found and shows its lease with `pre_lease`; the landlord's page lists it;
/// refusals come back with `lease.*` codes.
#[test]
fn record_lease_adds_a_tenant_and_a_lease_over_the_ipc() {
    let dir = tempfile::tempdir().expect("dir");
    let a = app(&dir.path().join("d.db"), expert());
    let w = &a.webview;
    let lease = |tenant_uscc: &str, end: &str| {
        json!({"lease": {
            "landlord": uscc("0000001"), "site_id": null,
            "new_site": {"name": "精密机械二号厂房", "address": "金坛区西城路8号"},
            "tenant": null,
            "new_tenant": {"name": "金坛迅达打磨厂", "uscc": tenant_uscc,
                           "village_code": null, "industry": null},
            "floors": "2", "area_m2": 600, "start_date": "2026-03-01", "end_date": end,
            "use_zh": "铝件打磨", "equipment_leased": false,
            "equipment_description": null, "safety_agreement_signed": null}})
    };
    let done = ok(w, "record_lease", lease(&uscc("0000021"), "2027-02-28"));
    for key in ["lease_id", "site_id", "tenant_id"] {
        assert!(done[key].as_str().is_some_and(|s| s.len() == 36), "{done}");
    }
    let tenant = ok(w, "get_enterprise", json!({"key": done["tenant_id"]}));
    assert_eq!(tenant["name"], "金坛迅达打磨厂");
    assert_eq!(tenant["registered_on_site"], true);
    assert_eq!(tenant["pre_lease"], json!({"status": "not_checked"}));
    let l = &tenant["leases_as_tenant"][0];
    assert_eq!(
        (l["use_zh"].as_str(), l["recorded_on_site"].as_bool()),
        (Some("铝件打磨"), Some(true))
    );
    assert_eq!(l["pre_lease"]["status"], "not_checked");
    let landlord = ok(w, "get_enterprise", json!({"key": uscc("0000001")}));
    assert_eq!(
        landlord["sites_as_landlord"][0]["leases"][0]["id"],
        done["lease_id"]
    );
    let code = |body: Value| invoke(w, "record_lease", body).expect_err("refused")["code"].clone();
    assert_eq!(
        code(lease("91320413MA00000211", "2027-02-28")),
        "lease.bad_uscc"
    );
    assert_eq!(
        code(lease(&uscc("0000022"), "2025-01-01")),
        "lease.bad_dates"
    );
    let mut outside = lease(&uscc("0000023"), "2027-02-28");
    outside["lease"]["landlord"] = json!(uscc("0000003"));
    assert_eq!(code(outside), "lease.outside_jurisdiction");
    let mut unknown = lease(&uscc("0000024"), "2027-02-28");
    unknown["lease"]["landlord"] = json!(uscc("0000099"));
    assert_eq!(code(unknown), "lease.unknown_enterprise");
}

/// `list_suspected` and `answer_suspected` as 待办's 疑似单位核实 calls them: the pulled
/// entry is listed; the unit found is registered on site and found by USCC; the entry
/// leaves the list; refusals come back with `suspected.*` codes.
#[test]
fn a_suspected_enterprise_is_listed_and_answered_over_the_ipc() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("d.db");
    let a = app(&db, expert());
    let w = &a.webview;
    let entry = "01900000-0000-7000-8000-0000000000aa";
    {
        let store = gridwalk_device::Store::open(&db).expect("second handle");
        store
            .apply_pull_page(&gridwalk_protocol::PullPage {
                changes: vec![gridwalk_protocol::Change {
                    cursor: "1".into(),
                    kind: gridwalk_protocol::ChangeKind::Suspected,
                    key: entry.into(),
                    body: json!({"id": entry, "name": "无名铝件作坊",
                        "address": "西城街道河滨路8号", "village_code": "320413001001",
                        "note": "举报核查（12350热线）：夜间打磨", "deadline": "2026-12-31",
                        "state": "open", "uscc": null}),
                }],
                next_cursor: "1".into(),
                has_more: false,
            })
            .expect("pulled");
    }
    let listed = ok(w, "list_suspected", json!({}));
    assert_eq!(listed[0]["id"], entry, "{listed}");
    assert_eq!(listed[0]["address"], "西城街道河滨路8号");
    let answer = |uscc: &str| {
        json!({"answer": {"suspected_id": entry, "found": true, "uscc": uscc,
            "name": "金坛区河滨恒达铝制品厂", "industry": null, "note": null}})
    };
    let code =
        |body: Value| invoke(w, "answer_suspected", body).expect_err("refused")["code"].clone();
    assert_eq!(code(answer("91320413MA00000211")), "suspected.bad_uscc");
    let mut not_found = answer(&uscc("0000031"));
    not_found["answer"]["found"] = json!(false);
    assert_eq!(code(not_found), "suspected.bad_input", "a note is required");
    let done = ok(w, "answer_suspected", answer(&uscc("0000031")));
    assert_eq!(done["state"], "confirmed", "{done}");
    let unit = ok(w, "get_enterprise", json!({"key": uscc("0000031")}));
    assert_eq!(unit["registered_on_site"], true, "{unit}");
    assert_eq!(ok(w, "list_suspected", json!({})), json!([]));
    assert_eq!(code(answer(&uscc("0000031"))), "suspected.answered");
}

/// An expert whose jurisdiction is `code`.
fn expert_of(code: &str) -> Option<LocalUser> {
    Some(LocalUser {
        name: "李专家".into(),
        role: "expert".into(),
        jurisdiction: code.into(),
    })
}

/// The expert's major-hazard inspection of an aluminium polisher (after the dust
/// verification), finalized with one major hazard: `(inspection, hazard, photo sha)`.
fn major_hazard(a: &App, enterprise: &str) -> (String, String, String) {
    let w = &a.webview;
    verify_dust(a, enterprise);
    let id = start(a, enterprise, "expert-major-hazard");
    let items = ok(w, "inspection_items", json!({"inspection_id": id}));
    for i in items
        .as_array()
        .expect("items")
        .iter()
        // The optional duty questions (DT-*) are left open, as an expert may.
        .filter(|i| i["answer_type"] == "yes_no_na" && i["required"] == true)
    {
        let item = i["id"].as_str().expect("id");
        let v = match item {
            "MH-D-03" => "yes",
            x if x.starts_with("R6") => "yes",
            _ => "no",
        };
        answer(a, &id, item, v);
    }
    let p = attach(w, &id, "MH-D-03", "gps__DSCN0021.jpg").expect("photo");
    attach(w, &id, "MH-PHOTO", "gps__DSCN0029.jpg").expect("photo item");
    sign(w, &id, "%E7%8E%8B%E7%BB%8F%E7%90%86").expect("signature");
    let out = ok(w, "finalize_inspection", json!({"inspection_id": id}));
    let hazard = out["hazards"][0].as_str().expect("a hazard").to_string();
    let sha = p["sha256"].as_str().expect("sha").to_string();
    (id, hazard, sha)
}

fn names(hits: &Value) -> Vec<String> {
    hits.as_array()
        .expect("array")
        .iter()
        .map(|h| h["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn a_village_device_neither_finds_nor_opens_enterprises_inspections_or_hazards_of_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 西城街道's village 320413001001: the two 金坛新城 enterprises; 儒林木业 is in
    // 儒林镇's 后庄村 (320413104206).
    let a = app(&dir.path().join("d.db"), expert_of("320413001001"));
    let w = &a.webview;
    let outside = uscc("0000003");
    let (inspection, hazard, sha) = major_hazard(&a, &uscc("0000002"));
    let refused = |cmd: &str, body: Value| {
        let err = invoke(w, cmd, body.clone()).expect_err(&format!("{cmd} {body}"));
        assert_eq!(
            err["code"], "store.outside_jurisdiction",
            "{cmd} {body}: {err}"
        );
    };

    // Inside, everything works.
    assert_eq!(
        ok(w, "get_enterprise", json!({"key": uscc("0000002")}))["name"],
        "金坛新城铝业抛光有限公司"
    );
    assert_eq!(
        ok(w, "get_inspection", json!({"inspection_id": inspection}))["status"],
        "finalized"
    );
    assert_eq!(
        ok(w, "get_hazard", json!({"hazard_id": hazard}))["severity"],
        "major"
    );
    assert_eq!(
        ok(
            w,
            "list_inspections",
            json!({"enterprise_id": uscc("0000002")})
        )
        .as_array()
        .expect("a")
        .len(),
        2
    );
    ok(w, "photo_thumbnail", json!({"sha256": sha}));

    // 儒林木业 by name, a short name, pinyin initials (long and short), its USCC and a
    // USCC prefix every enterprise shares: not found.
    for query in [
        "儒林木业有限公司",
        "木业",
        "rlmy",
        "rl",
        outside.as_str(),
        &outside[..12],
    ] {
        let hits = ok(
            w,
            "search_enterprises",
            json!({"query": query, "filters": {}, "limit": 50}),
        );
        assert!(
            !names(&hits).contains(&"儒林木业有限公司".to_string()),
            "{query}: {hits}"
        );
        let hits = ok(w, "register_search", json!({"query": query, "limit": 50}));
        assert!(
            !names(&hits).contains(&"儒林木业有限公司".to_string()),
            "register_search {query}: {hits}"
        );
    }
    let shared = ok(
        w,
        "search_enterprises",
        json!({"query": "91320413MA", "filters": {}, "limit": 50}),
    );
    assert_eq!(names(&shared).len(), 2, "{shared}");
    assert_eq!(
        names(&ok(
            w,
            "search_enterprises",
            json!({"query": "", "filters": {}, "limit": 50})
        ))
        .len(),
        2
    );
    // Opening it, by USCC or id, is refused with the code; the message says why.
    let err = invoke(w, "get_enterprise", json!({"key": outside})).expect_err("outside");
    assert_eq!(
        err,
        json!({"code": "store.outside_jurisdiction",
               "message": format!("enterprise {outside} is outside the jurisdiction 320413001001")})
    );
    let outside_id = {
        let state = a._app.state::<AppState>();
        let store = state.store().expect("store");
        store
            .enterprise(&outside)
            .expect("in the register")
            .enterprise
            .id
    };
    refused("get_enterprise", json!({"key": outside_id}));
    refused("enterprise_show", json!({"key": outside}));
    refused("enterprise_status", json!({"key": outside}));
    refused("list_inspections", json!({"enterprise_id": outside}));
    refused(
        "list_hazards",
        json!({"enterprise_id": outside, "open_only": false}),
    );
    refused(
        "start_inspection",
        json!({"enterprise": outside, "template_id": "dust-verification", "template_version": null}),
    );
    let err = invoke_raw(
        w,
        "add_photo",
        photo("gps__DSCN0029.jpg"),
        &[
            ("gridwalk-enterprise-id", &outside_id.to_string()),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", "null"),
        ],
    )
    .expect_err("add_photo outside");
    assert_eq!(err["code"], "store.outside_jurisdiction");

    // The same device enrolled for 后庄村: 儒林木业 is found and opens; the aluminium
    // polisher, its inspection, photo and hazard do not.
    a._app
        .state::<AppState>()
        .set_local_user(expert_of("320413104206"));
    let hits = ok(
        w,
        "search_enterprises",
        json!({"query": "rlmy", "filters": {}, "limit": 50}),
    );
    assert_eq!(names(&hits), ["儒林木业有限公司"]);
    assert_eq!(
        ok(w, "get_enterprise", json!({"key": outside}))["name"],
        "儒林木业有限公司"
    );
    assert_eq!(
        ok(w, "list_inspections", json!({"enterprise_id": outside})),
        json!([])
    );
    for query in ["金坛新城铝业抛光有限公司", "铝业", "jtxc", "jt"] {
        let hits = ok(
            w,
            "search_enterprises",
            json!({"query": query, "filters": {}, "limit": 50}),
        );
        assert_eq!(hits, json!([]), "{query}");
    }
    refused("get_enterprise", json!({"key": uscc("0000002")}));
    refused("get_inspection", json!({"inspection_id": inspection}));
    refused("inspection_items", json!({"inspection_id": inspection}));
    refused(
        "answer_item",
        json!({"inspection_id": inspection, "item_id": "MH-D-03", "value": "no", "note": null}),
    );
    refused("finalize_inspection", json!({"inspection_id": inspection}));
    let err = sign(w, &inspection, "x").expect_err("signature outside");
    assert_eq!(err["code"], "store.outside_jurisdiction");
    let err = attach(w, &inspection, "MH-D-03", "gps__DSCN0010.jpg").expect_err("photo outside");
    assert_eq!(err["code"], "store.outside_jurisdiction");
    refused("get_hazard", json!({"hazard_id": hazard}));
    refused(
        "reinspect_hazard",
        json!({"hazard_id": hazard, "passed": false, "before_photo_sha256s": [],
               "after_photo_sha256s": [], "note": null}),
    );
    refused("photo_thumbnail", json!({"sha256": sha}));
    refused(
        "list_hazards",
        json!({"enterprise_id": uscc("0000002"), "open_only": false}),
    );
    assert_eq!(
        ok(
            w,
            "list_hazards",
            json!({"enterprise_id": null, "open_only": false})
        ),
        json!([])
    );
    // Unknown ids still answer not found.
    let err = invoke(
        w,
        "get_inspection",
        json!({"inspection_id": "00000000-0000-0000-0000-000000000000"}),
    )
    .expect_err("unknown");
    assert_eq!(err["code"], "inspect.not_found");

    // A grid covers its village (the server's rule): 后庄村's grid 001 sees 儒林木业.
    a._app
        .state::<AppState>()
        .set_local_user(expert_of("320413104206001"));
    assert_eq!(
        names(&ok(
            w,
            "search_enterprises",
            json!({"query": "木业", "filters": {}, "limit": 50})
        )),
        ["儒林木业有限公司"]
    );
    ok(w, "get_enterprise", json!({"key": outside}));
}

// ---- errors per area, pinned ----

#[test]
fn errors_of_each_area_are_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("d.db"), expert());
    let w = &a.webview;
    // template
    let err = invoke(
        w,
        "start_inspection",
        json!({"enterprise": uscc("0000001"), "template_id": "nope", "template_version": null}),
    )
    .expect_err("template");
    assert_eq!(
        err,
        json!({"code": "template.not_found", "message": "template not found: nope"})
    );
    // inspect
    let err = invoke(w, "get_inspection", json!({"inspection_id": "x"})).expect_err("inspect");
    assert_eq!(
        err,
        json!({"code": "inspect.not_found", "message": "inspection not found: x"})
    );
    // hazard
    let err = invoke(w, "get_hazard", json!({"hazard_id": "h"})).expect_err("hazard");
    assert_eq!(
        err,
        json!({"code": "hazard.not_found", "message": "hazard not found: h"})
    );
    // evidence: too large, and not an image
    let id = start(&a, &uscc("0000001"), "dust-verification");
    let err = invoke_raw(
        w,
        "attach_photo",
        vec![0u8; 30 * 1024 * 1024 + 1],
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-item-id", "DV-22"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("too large");
    assert_eq!(
        err,
        json!({"code": "evidence.too_large",
               "message": "<upload> is 31457281 bytes, more than the 31457280 accepted"})
    );
    let err = invoke_raw(
        w,
        "attach_photo",
        b"these bytes are not an image".to_vec(),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-item-id", "DV-22"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("bad photo");
    assert_eq!(err["code"], "evidence.bad_photo");
    let err = invoke_raw(
        w,
        "attach_photo",
        photo("gps__DSCN0010.jpg"),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-item-id", "DV-22"),
            ("gridwalk-device-time", DEVICE_TIME),
            ("gridwalk-stamp", r#"{"lat": 91.0}"#),
        ],
    )
    .expect_err("bad stamp");
    assert_eq!(err["code"], "evidence.bad_position");
    // app: malformed headers
    let err = invoke_raw(
        w,
        "attach_photo",
        photo("gps__DSCN0010.jpg"),
        &[
            ("gridwalk-inspection-id", "not-a-uuid"),
            ("gridwalk-item-id", "DV-22"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("bad uuid");
    assert_eq!(
        err,
        json!({"code": "app.bad_argument",
               "message": "header gridwalk-inspection-id is not a UUID: not-a-uuid"})
    );
    let err = invoke_raw(
        w,
        "attach_signature",
        png(),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-signer", "%20"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("empty signer");
    assert_eq!(err["code"], "app.bad_argument");
    let err = invoke_raw(
        w,
        "attach_signature",
        b"GIF89a not a png at all, really".to_vec(),
        &[
            ("gridwalk-inspection-id", &id),
            ("gridwalk-signer", "x"),
            ("gridwalk-device-time", DEVICE_TIME),
        ],
    )
    .expect_err("not png");
    assert_eq!(err["code"], "evidence.bad_photo");
    let err = invoke(w, "attach_photo", json!({})).expect_err("json body");
    assert_eq!(err["code"], "app.bad_argument");
    // store
    let err = invoke(w, "photo_thumbnail", json!({"sha256": "00"})).expect_err("photo");
    assert_eq!(
        err,
        json!({"code": "store.not_found", "message": "photo not found: 00"})
    );
}

// ---- enrollment and sync against a real server on loopback ----

/// A real `gridwalk-server` (SQLite, in this process) with Jintan's divisions, the same
/// register as the device and an expert for 西城街道.
struct Server {
    data: gridwalk_server::DataDir,
    base: String,
    port: u16,
    store: std::sync::Arc<gridwalk_server::Store>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Creates the data directory's register and user; returns the server and a code.
    fn create(dir: &Path) -> (Server, String) {
        use gridwalk_server::register::{import, RegisterFile};
        let data = gridwalk_server::DataDir::create(dir).expect("data dir");
        let store = gridwalk_server::open_store(&data, None).expect("server store");
        import(
            &store,
            RegisterFile::Divisions,
            &testdata().join("divisions/jintan.csv"),
        )
        .expect("divisions");
        let csv = dir.join("register.csv");
        std::fs::write(&csv, register_csv()).expect("csv");
        import(&store, RegisterFile::Enterprises, &csv).expect("register");
        store.publish_templates().expect("templates");
        store
            .create_user(
                "李专家",
                gridwalk_protocol::Role::Expert,
                &gridwalk_core::DivisionCode::parse("320413001000").expect("code"),
            )
            .expect("user");
        let code = store.issue_enrollment_code("李专家").expect("code");
        drop(store);
        (Server::start(data, 0), code)
    }

    /// Serves `data` on 127.0.0.1:`port` (0: any free port).
    fn start(data: gridwalk_server::DataDir, port: u16) -> Server {
        let store = gridwalk_server::open_store(&data, None).expect("server store");
        let state = gridwalk_server::local_state(&data, store).expect("state");
        let store = state.store.clone();
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, gridwalk_server::app(state))
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        Server {
            data,
            base: format!("http://127.0.0.1:{port}"),
            port,
            store,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops serving (the port closes); returns the data directory and port.
    fn stop(mut self) -> (gridwalk_server::DataDir, u16) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
        (self.data.clone(), self.port)
    }
}

fn records_in(status: &Value) -> Vec<Value> {
    status["records"].as_array().expect("records").clone()
}

#[test]
fn enroll_then_sync_with_a_real_server_through_an_outage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = app(&dir.path().join("device.db"), None);
    let err = invoke(&a.webview, "sync_now", json!({})).expect_err("not enrolled");
    assert_eq!(err["code"], "sync.not_enrolled");

    let (server, code) = Server::create(&dir.path().join("server"));
    let err = invoke(
        &a.webview,
        "enroll",
        json!({"server_url": "ftp://example.cn", "code": code}),
    )
    .expect_err("bad url");
    assert_eq!(err["code"], "sync.bad_server_url");
    // Plain http only to this machine (the test server is on 127.0.0.1).
    let err = invoke(
        &a.webview,
        "enroll",
        json!({"server_url": "http://gw.example.cn:8737", "code": code}),
    )
    .expect_err("plain http");
    assert_eq!(err["code"], "sync.insecure_server_url");
    let err = invoke(
        &a.webview,
        "enroll",
        json!({"server_url": server.base, "code": "AAAA-BBBB-CCCC"}),
    )
    .expect_err("bad code");
    assert_eq!(err["code"], "server.enrollment_code_invalid");

    let s = ok(
        &a.webview,
        "enroll",
        json!({"server_url": server.base, "code": code}),
    );
    assert_eq!(s["enrolled"], true);
    assert_eq!(s["server_url"], server.base.as_str());
    assert_eq!(s["user"]["name"], "李专家");
    assert_eq!(s["user"]["role"], "expert");
    assert_eq!(s["user"]["jurisdiction"], "320413001000");

    // Offline work is queued by finalize; a sync sends it and its photo.
    verify_dust(&a, &uscc("0000002"));
    let s = ok(&a.webview, "sync_status", json!({}));
    let recs = records_in(&s);
    assert!(
        recs.iter()
            .any(|r| r["kind"] == "inspection" && r["state"] == "queued"),
        "{s}"
    );
    let s = ok(&a.webview, "sync_now", json!({}));
    assert_eq!(s["last_error"], Value::Null, "{s}");
    assert_eq!(s["online"], true);
    let recs = records_in(&s);
    assert!(!recs.is_empty());
    assert!(recs.iter().all(|r| r["state"] == "complete"), "{s}");
    let insp = recs
        .iter()
        .find(|r| r["kind"] == "inspection")
        .expect("inspection record");
    assert_eq!(insp["photos_total"], 1);
    assert_eq!(insp["photos_done"], 1);
    assert!(insp["label"].as_str().expect("label").contains("铝业抛光"));

    // The server goes away; another inspection is finalized and waits.
    let (data, port) = server.stop();
    verify_dust(&a, &uscc("0000002"));
    let s = ok(&a.webview, "sync_now", json!({}));
    assert_eq!(s["online"], false, "{s}");
    assert_eq!(s["last_error"]["code"], "network.offline", "{s}");
    // The pass stopped at its first request (reconciliation), before anything was sent:
    // the new records are still queued, the error is the pass's.
    assert!(
        records_in(&s)
            .iter()
            .any(|r| r["kind"] == "inspection" && r["state"] == "queued"),
        "{s}"
    );
    let inspections = ok(
        &a.webview,
        "list_inspections",
        json!({"enterprise_id": uscc("0000002")}),
    );
    let states: Vec<&str> = inspections
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["sync_state"].as_str().expect("finalized"))
        .collect();
    assert_eq!(states, ["queued", "complete"], "newest first");

    // Enrolling with another server while that inspection waits would send it there
    // instead: refused without the person's confirmation, and nothing changes.
    let (other, other_code) = Server::create(&dir.path().join("other-server"));
    let err = invoke(
        &a.webview,
        "enroll",
        json!({"server_url": other.base, "code": other_code}),
    )
    .expect_err("unconfirmed switch");
    assert_eq!(err["code"], "sync.switch_server_unconfirmed", "{err}");
    let st = ok(&a.webview, "app_state", json!({}));
    assert_ne!(st["server_url"], other.base.as_str(), "{st}");
    other.stop();

    // Back on the same address: the next sync delivers it; nothing is sent twice.
    let server = Server::start(data, port);
    let s = ok(&a.webview, "sync_now", json!({}));
    assert_eq!(s["last_error"], Value::Null, "{s}");
    assert!(
        records_in(&s).iter().all(|r| r["state"] == "complete"),
        "{s}"
    );
    let exported = server.store.export_inspections().expect("export");
    assert_eq!(exported.len(), 2, "{exported:?}");
    assert!(exported
        .iter()
        .all(|e| e.state.as_str() == "complete" && e.photo_hashes.len() == 1));
    server.stop();
}
