//! Child processes that are stopped politely (SIGTERM, then SIGKILL after a grace
//! period), free loopback ports, and waiting until a port accepts connections.

use crate::Result;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// A child process that is sent SIGTERM when stopped or dropped.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    /// Wraps a spawned child.
    pub fn new(name: impl Into<String>, child: Child) -> Proc {
        Proc {
            name: name.into(),
            child,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then waits up to `grace` for the exit; SIGKILL after that.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        if let Some(s) = self.exited() {
            return Ok(s);
        }
        signal(self.child.id(), libc::SIGTERM);
        let end = Instant::now() + grace;
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        eprintln!(
            "e2e: {} (pid {}) ignored SIGTERM for {grace:?}; SIGKILL",
            self.name,
            self.child.id()
        );
        self.child.kill()?;
        Ok(self.child.wait()?)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Err(e) = self.terminate(Duration::from_secs(10)) {
            eprintln!("e2e: stopping {}: {e}", self.name);
        }
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid of our own child; no memory is touched.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// True when something accepts connections on `127.0.0.1:port`.
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls until `127.0.0.1:port` accepts a connection, or fails after `timeout`.
/// `alive` is checked between attempts so a crashed child fails fast.
pub async fn wait_for_port(
    port: u16,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<()> {
    let end = Instant::now() + timeout;
    loop {
        if tokio::task::spawn_blocking(move || port_open(port)).await? {
            return Ok(());
        }
        alive()?;
        if Instant::now() >= end {
            return Err(format!(
                "nothing accepted connections on 127.0.0.1:{port} within {timeout:?}"
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until nothing accepts connections on `127.0.0.1:port`.
pub async fn wait_for_port_closed(port: u16, timeout: Duration) -> Result<()> {
    let end = Instant::now() + timeout;
    while tokio::task::spawn_blocking(move || port_open(port)).await? {
        if Instant::now() >= end {
            return Err(
                format!("127.0.0.1:{port} still accepts connections after {timeout:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
