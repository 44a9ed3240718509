//! Tauri commands: each one line over the device crate. Inputs from the web view are
//! untrusted: sizes, ids and paths are checked in Rust (in the device crate).

use crate::error::IpcError;
use crate::state::AppState;
use gridwalk_device::register::EnterpriseDetail;
use gridwalk_device::search::SearchHit;
use tauri::State;

/// Search-box query over the register (Chinese, pinyin, USCC prefix).
#[tauri::command]
pub fn register_search(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>, IpcError> {
    Ok(state
        .store()?
        .search_enterprises(&query, limit.unwrap_or(30))?)
}

/// One enterprise with its site, tenants and statuses.
#[tauri::command]
pub fn enterprise_show(
    state: State<'_, AppState>,
    key: String,
) -> Result<EnterpriseDetail, IpcError> {
    Ok(state.store()?.enterprise(&key)?)
}
