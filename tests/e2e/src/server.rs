//! A real `gridwalk-server` on loopback: its data directory, the admin CLI on that
//! directory, `serve` on a fixed port (chosen once, so a restart keeps the URL the
//! device enrolled with), and the export the test checks at the end.

use crate::proc::{wait_for_port, wait_for_port_closed, Proc};
use crate::Result;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The server fixture. `serve` runs only between [`Server::start`] and [`Server::stop`].
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    log: PathBuf,
    serving: Option<Proc>,
}

impl Server {
    /// A server over `data` that will listen on `127.0.0.1:port`, logging to `log`.
    pub fn new(bin: PathBuf, data: PathBuf, port: u16, log: PathBuf) -> Server {
        Server {
            bin,
            data,
            port,
            log,
            serving: None,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// Runs `gridwalk-server --data DIR <args>`; its stdout, or an error with stderr.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.bin)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .map_err(|e| format!("running {}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "gridwalk-server {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `serve` and waits until the port accepts connections.
    pub async fn start(&mut self) -> Result<()> {
        if self.serving.is_some() {
            return Err("server already running".into());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg("--data")
            .arg(&self.data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .env(
                "RUST_LOG",
                std::env::var("GRIDWALK_E2E_SERVER_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        let mut proc = Proc::new("gridwalk-server", child);
        let log = self.log.clone();
        wait_for_port(self.port, Duration::from_secs(30), || match proc.exited() {
            Some(s) => Err(format!("gridwalk-server exited ({s}); see {}", log.display()).into()),
            None => Ok(()),
        })
        .await?;
        self.serving = Some(proc);
        Ok(())
    }

    /// SIGTERM (a graceful stop, exit 0 expected) and waits until the port is closed.
    pub async fn stop(&mut self) -> Result<()> {
        let Some(mut proc) = self.serving.take() else {
            return Ok(());
        };
        let status =
            tokio::task::spawn_blocking(move || proc.terminate(Duration::from_secs(20))).await??;
        if !status.success() {
            return Err(format!("gridwalk-server did not stop cleanly: {status}").into());
        }
        wait_for_port_closed(self.port, Duration::from_secs(10)).await
    }

    /// `gridwalk-server export inspections --json`.
    pub fn export_inspections(&self) -> Result<serde_json::Value> {
        let text = self.cli(&["export", "inspections", "--json"])?;
        serde_json::from_str(&text).map_err(|e| format!("export is not JSON ({e}): {text}").into())
    }
}
