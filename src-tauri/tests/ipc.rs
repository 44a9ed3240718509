//! The IPC contract without a display: the same handler list as the app, a mock
//! runtime, a real device database.

use gridwalk_app_lib::{handlers, state::AppState};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
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

fn app_with_register(db: &Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let state = AppState::open(db.to_path_buf()).expect("open store");
    {
        let store = state.store().expect("lock");
        store
            .import_divisions(&testdata().join("divisions/jintan.csv"))
            .expect("divisions");
        let dir = db.parent().expect("dir");
        let csv = dir.join("e.csv");
        let code = gridwalk_core::Uscc::with_check_char("91320413MA0000001").expect("uscc");
        std::fs::write(
            &csv,
            format!("name,uscc,village_code\n金坛新城精密机械有限公司,{code},320413001001\n"),
        )
        .expect("csv");
        store.import_enterprises(&csv).expect("import");
    }
    let app = mock_builder()
        .invoke_handler(handlers())
        .build(mock_context(noop_assets()))
        .expect("app");
    app.manage(state);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("webview");
    (app, webview)
}

fn invoke(webview: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("json body"))
}

#[test]
fn register_search_finds_an_enterprise_by_pinyin_initials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, webview) = app_with_register(&dir.path().join("d.db"));
    let hits = invoke(
        &webview,
        "register_search",
        json!({ "query": "jtxc", "limit": 5 }),
    )
    .expect("ok");
    assert_eq!(hits[0]["name"], "金坛新城精密机械有限公司");
    assert_eq!(hits[0]["village_code"], "320413001001");
}

#[test]
fn an_unknown_enterprise_comes_back_as_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, webview) = app_with_register(&dir.path().join("d.db"));
    let err = invoke(
        &webview,
        "enterprise_show",
        json!({ "key": "91110000600037341L" }),
    )
    .expect_err("error");
    assert_eq!(err["code"], "store.not_found");
    assert!(err["message"]
        .as_str()
        .is_some_and(|m| m.contains("91110000600037341L")));
}

#[test]
fn an_empty_query_is_refused_with_its_own_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, webview) = app_with_register(&dir.path().join("d.db"));
    let err = invoke(&webview, "register_search", json!({ "query": "  " })).expect_err("error");
    assert_eq!(err["code"], "store.bad_query");
}
