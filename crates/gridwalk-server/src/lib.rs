//! The GridWalk central server: devices push finalized records and upload photos (tus),
//! and pull the register of their jurisdiction. See `docs/sync-protocol.md` (the
//! contract) and `docs/server.md` (running it).
//!
//! The HTTP layer (`http`, `tus`) is thin over [`store::Store`], which is written once
//! over the [`db::Backend`] seam with SQLite and PostgreSQL implementations.

pub mod audit;
pub mod authz;
pub mod backup;
pub mod blobs;
pub mod console;
pub mod coverage;
pub mod db;
pub mod error;
pub mod evidence_view;
pub mod export;
pub mod facts;
pub mod http;
pub mod http_audit;
pub mod http_export;
pub mod http_officer;
pub mod http_print;
pub mod http_tips;
pub mod lease_ledger;
pub mod map_view;
pub mod metrics;
pub mod openapi;
pub mod password;
pub(crate) mod phone_leases;
pub mod print;
pub mod projections;
#[cfg(test)]
mod query_plans;
pub mod ratelimit;
pub mod register;
pub mod register_view;
pub mod serve;
pub mod sessions;
pub mod store;
pub mod suspected;
pub mod tips;
pub mod tus;
pub mod work;

pub use error::StoreError;
pub use http::{app, AppState};
pub use store::Store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server keeps its files: `DIR/server.db` (SQLite), `DIR/blobs/` (photos
/// and partial tus uploads, unless `--blob-url` names another object store), temporary
/// ledger files. A `DIR/register.db` left by older servers (their staging register of
/// imports) is no longer read.
#[derive(Debug, Clone)]
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// Creates the directory tree if needed.
    pub fn create(path: &Path) -> Result<DataDir, StoreError> {
        for sub in ["", "blobs"] {
            let p = path.join(sub);
            std::fs::create_dir_all(&p)
                .map_err(StoreError::io(format!("cannot create {}", p.display())))?;
        }
        Ok(DataDir(path.to_path_buf()))
    }
    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.0.join("server.db")
    }
    /// The local blob store root.
    pub fn blobs(&self) -> PathBuf {
        self.0.join("blobs")
    }
}

/// Opens the store: PostgreSQL when `database_url` is given, else SQLite in the data
/// directory. Migrations run on open.
pub fn open_store(data: &DataDir, database_url: Option<&str>) -> Result<Store, StoreError> {
    open_store_with(data, database_url, db::DEFAULT_POOL_SIZE)
}

/// [`open_store`] with a PostgreSQL pool of up to `pool_size` connections.
pub fn open_store_with(
    data: &DataDir,
    database_url: Option<&str>,
    pool_size: usize,
) -> Result<Store, StoreError> {
    let backend: Box<dyn db::Backend> = match database_url {
        Some(url) => Box::new(db::PgBackend::connect_pool(url, pool_size)?),
        None => Box::new(db::SqliteBackend::open(&data.database())?),
    };
    Store::new(backend)
}

/// Builds the state the HTTP layer runs on, with photos and partial uploads in the
/// local blob directory.
pub fn local_state(data: &DataDir, store: Store) -> Result<AppState, StoreError> {
    let url = blobs::BlobUrl::parse(None, data)?;
    Ok(state(data, store, blobs::open(&url, [])?)?.with_blob_dir(url.local_dir()))
}

/// Builds the state the HTTP layer runs on over this blob store.
pub fn state(
    data: &DataDir,
    store: Store,
    blobs: Arc<dyn object_store::ObjectStore>,
) -> Result<AppState, StoreError> {
    Ok(AppState::new(Arc::new(store), blobs, data.0.clone()))
}
