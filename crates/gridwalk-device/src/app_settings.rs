//! The app's user settings, kept on the device (`device_meta` key `settings`, JSON).

use crate::error::StoreError;
use crate::store::{meta, set_meta, Store};
use serde::{Deserialize, Serialize};

/// Language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// 中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

/// What the worker can change on the Settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Upload photos only on Wi-Fi (records still go on cellular).
    pub wifi_only_photos: bool,
    /// UI language.
    pub language: Language,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            wifi_only_photos: true,
            language: Language::Zh,
        }
    }
}

const KEY: &str = "settings";

impl Store {
    /// The stored settings, or the defaults (photos on Wi-Fi only, Chinese).
    pub fn settings(&self) -> Result<Settings, StoreError> {
        match meta(&self.conn, KEY)? {
            None => Ok(Settings::default()),
            Some(s) => serde_json::from_str(&s).map_err(corrupt),
        }
    }

    /// Replaces the settings; returns them as stored.
    pub fn set_settings(&self, settings: &Settings) -> Result<Settings, StoreError> {
        let text = serde_json::to_string(settings).map_err(corrupt)?;
        set_meta(&self.conn, KEY, &text)?;
        self.settings()
    }
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        table: "device_meta",
        column: "settings",
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_then_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("d.db")).expect("open");
        assert_eq!(store.settings().expect("get"), Settings::default());
        let s = Settings {
            wifi_only_photos: false,
            language: Language::En,
        };
        assert_eq!(store.set_settings(&s).expect("set"), s);
        drop(store);
        let store = Store::open(dir.path().join("d.db")).expect("reopen");
        assert_eq!(store.settings().expect("get"), s);
        assert_eq!(
            serde_json::to_value(&s).expect("json"),
            serde_json::json!({"wifi_only_photos": false, "language": "en"})
        );
    }
}
