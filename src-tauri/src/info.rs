//! `app_state`: what the web view needs to know about the device and its user.

use crate::error::IpcError;
use crate::state::AppState;
use serde::Serialize;

/// The acting user as the web view sees it.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: String,
    pub jurisdiction: String,
    pub jurisdiction_name: Option<String>,
}

/// `AppState` of docs/ipc.md.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub enrolled: bool,
    pub device_id: String,
    pub server_url: Option<String>,
    pub platform: &'static str,
    pub user: Option<UserInfo>,
}

/// `android`, `ios` or `desktop`.
pub fn platform() -> &'static str {
    if cfg!(target_os = "android") {
        "android"
    } else if cfg!(target_os = "ios") {
        "ios"
    } else {
        "desktop"
    }
}

/// The device's state: enrolled once it has a user (enrollment, or a development user).
pub fn app_info(state: &AppState) -> Result<AppInfo, IpcError> {
    let store = state.store()?;
    let user = match state.local_user() {
        Some(u) => Some(UserInfo {
            jurisdiction_name: store.jurisdiction(&u.jurisdiction)?.map(|(_, n)| n),
            name: u.name,
            role: u.role,
            jurisdiction: u.jurisdiction,
        }),
        None => None,
    };
    let enrollment = store.enrollment()?;
    Ok(AppInfo {
        enrolled: user.is_some(),
        device_id: match &enrollment {
            Some(e) => e.device_id.to_string(),
            None => store.device_id()?,
        },
        server_url: enrollment.map(|e| e.server_url),
        platform: platform(),
        user,
    })
}
