//! `tauri-driver` (WebDriver on one port, `WebKitWebDriver` on another) and the
//! session that launches the app.
//!
//! Environment for the app: `tauri-driver` starts `WebKitWebDriver`, which starts the
//! app; each inherits its parent's environment, so variables set here (`GRIDWALK_DB`,
//! …) reach the app. Stop it with SIGTERM (never SIGKILL: its `WebKitWebDriver` child
//! would outlive it and keep the native port).

use crate::proc::{free_port, wait_for_port, Proc};
use crate::Result;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running `tauri-driver`.
#[derive(Debug)]
pub struct TauriDriver {
    proc: Option<Proc>,
    port: u16,
    native_port: u16,
}

impl TauriDriver {
    /// Starts `tauri-driver` on two free ports with `env` added to its environment,
    /// logging to `log`, and waits until both ports accept connections.
    pub async fn start(bin: &Path, env: &[(&str, String)], log: &Path) -> Result<TauriDriver> {
        if !bin.is_file() {
            return Err(format!(
                "{} not found: cargo install tauri-driver --version '^2' --locked",
                bin.display()
            )
            .into());
        }
        let port = free_port()?;
        let mut native_port = free_port()?;
        while native_port == port {
            native_port = free_port()?;
        }
        let log_file = OpenOptions::new().create(true).append(true).open(log)?;
        let mut cmd = Command::new(bin);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut proc = Proc::new("tauri-driver", child);
        let log = log.to_path_buf();
        for p in [port, native_port] {
            wait_for_port(p, Duration::from_secs(30), || match proc.exited() {
                Some(s) => Err(format!("tauri-driver exited ({s}); see {}", log.display()).into()),
                None => Ok(()),
            })
            .await?;
        }
        Ok(TauriDriver {
            proc: Some(proc),
            port,
            native_port,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `WebKitWebDriver` port.
    pub fn native_port(&self) -> u16 {
        self.native_port
    }

    /// Opens a session, which launches `app`.
    pub async fn session(&self, app: &Path) -> Result<Client> {
        if !app.is_file() {
            return Err(format!(
                "{} not found: cargo build -p gridwalk-app --features custom-protocol",
                app.display()
            )
            .into());
        }
        let caps = serde_json::json!({
            "browserName": "wry",
            "tauri:options": { "application": app },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url())
            .await
            .map_err(|e| format!("WebDriver session at {}: {e}", self.url()))?;
        Ok(client)
    }

    /// SIGTERM and wait (its `WebKitWebDriver` and the app go with it).
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut p) = self.proc.take() {
            tokio::task::spawn_blocking(move || p.terminate(Duration::from_secs(10))).await??;
        }
        Ok(())
    }
}

/// The absolute path of a file, for `tauri:options` and file inputs.
pub fn abs(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
