//! A real S3-compatible server for the tests: moto in server mode (`moto[server]` from
//! PyPI, installed once into `target/tmp/moto-venv` by tests/python/setup-venv.sh),
//! started on a free loopback port and stopped on drop, with one bucket.

use super::python_venv;
use futures::TryStreamExt;
use gridwalk_server::blobs::{self, BlobUrl};
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};

/// The moto release these tests pin.
pub const MOTO: &str = "moto[server]==5.2.5";
pub const BUCKET: &str = "gridwalk-photos";
pub const PREFIX: &str = "town/320413";

/// A moto S3 server on loopback, stopped on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        python_venv("moto-venv", MOTO, "import moto.server, werkzeug").join("bin/moto_server")
    })
    .clone()
}

/// The AWS_* settings a server (or the test's own client) uses for moto.
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT", endpoint),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "gridwalk-test"),
        ("AWS_SECRET_ACCESS_KEY", "gridwalk-test-secret"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec()
}

impl Moto {
    /// Starts moto and creates the bucket.
    pub async fn start() -> Moto {
        let bin = tokio::task::spawn_blocking(moto_bin).await.expect("venv");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            // Creating the bucket is also the readiness probe.
            if let Ok(r) = http.put(format!("{}/{BUCKET}", moto.endpoint)).send().await {
                assert!(r.status().is_success(), "create bucket: {}", r.status());
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        moto
    }

    /// The `--blob-url` of the server's blob store.
    pub fn blob_url(&self) -> String {
        format!("s3://{BUCKET}/{PREFIX}")
    }

    /// The server's blob store: the bucket under [`PREFIX`].
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        let url = BlobUrl::S3 {
            bucket: BUCKET.into(),
            prefix: PREFIX.into(),
        };
        blobs::open(&url, aws_env(&self.endpoint)).expect("s3 store")
    }

    /// Every key in the bucket, read with the S3 API from the bucket's root.
    pub async fn keys(&self) -> Vec<String> {
        let url = BlobUrl::S3 {
            bucket: BUCKET.into(),
            prefix: String::new(),
        };
        let root = blobs::open(&url, aws_env(&self.endpoint)).expect("s3 store");
        let mut keys: Vec<String> = root
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list the bucket");
        keys.sort();
        keys
    }

    /// An object's bytes, read from the bucket's root.
    pub async fn object(&self, key: &str) -> Vec<u8> {
        let url = BlobUrl::S3 {
            bucket: BUCKET.into(),
            prefix: String::new(),
        };
        let root = blobs::open(&url, aws_env(&self.endpoint)).expect("s3 store");
        root.get(&ObjectPath::from(key))
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes")
            .to_vec()
    }
}
