//! GridWalk's Tauri 2 shell: state lives in the Rust device store; the web view calls the
//! commands in [`commands`] and receives typed `{code, message}` errors ([`error`]).

pub mod commands;
pub mod error;
pub mod info;
pub mod raw;
pub mod state;
pub mod sync;

use state::AppState;
use std::path::PathBuf;
use tauri::Manager;

/// The command list, shared by the app and the tests so both register the same handlers.
pub fn handlers<R: tauri::Runtime>(
) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    use commands::*;
    tauri::generate_handler![
        register_search,
        enterprise_show,
        app_state,
        get_settings,
        set_settings,
        grid_summary,
        campaign,
        search_enterprises,
        get_enterprise,
        record_lease,
        list_suspected,
        answer_suspected,
        enterprise_status,
        list_templates,
        list_inspections,
        start_inspection,
        get_inspection,
        inspection_items,
        answer_item,
        attach_photo,
        add_photo,
        photo_thumbnail,
        attach_signature,
        finalize_inspection,
        list_hazards,
        get_hazard,
        reinspect_hazard,
        set_hazard_plan,
        list_assignments,
        get_review,
        enroll,
        sync_status,
        sync_now,
    ]
}

fn database_path(app: &tauri::App) -> PathBuf {
    if let Some(p) = std::env::var_os("GRIDWALK_DB") {
        return PathBuf::from(p);
    }
    app.path()
        .app_data_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join("gridwalk.db")
}

/// Builds and runs the app.
pub fn run() {
    let mut builder = tauri::Builder::default();
    #[cfg(mobile)]
    {
        builder = builder
            .plugin(tauri_plugin_geolocation::init())
            .plugin(tauri_plugin_barcode_scanner::init());
    }
    builder = builder.setup(|app| {
        let state = AppState::open(database_path(app))
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)?;
        // Before enrollment, a development user from GRIDWALK_USER/_ROLE/_JURISDICTION.
        state.set_local_user(state::LocalUser::from_env());
        app.manage(state);
        sync::start_worker(app.handle().clone());
        Ok(())
    });
    if let Err(e) = builder
        .invoke_handler(handlers())
        .run(tauri::generate_context!())
    {
        eprintln!("GridWalk could not start: {e}");
        std::process::exit(1);
    }
}
