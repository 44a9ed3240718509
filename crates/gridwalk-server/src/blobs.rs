//! Where photos and partial uploads are kept: an [`ObjectStore`], local files by
//! default, S3 (or an S3-compatible server) by configuration (`--blob-url`).
//!
//! Layout inside the store (`docs/server.md`, "Blob store"): `photos/<sha256>` for
//! verified photos and signatures, `uploads/<upload id>/<start>-<nonce>` for the chunks
//! of unfinished tus uploads.

use crate::{DataDir, StoreError};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use std::path::PathBuf;
use std::sync::Arc;

/// A parsed `--blob-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobUrl {
    /// Files under this directory (`file:///path`, or `DATA/blobs` by default).
    Local(PathBuf),
    /// An S3 bucket, with every key under `prefix` (empty: the bucket's root).
    S3 { bucket: String, prefix: String },
}

impl BlobUrl {
    /// The directory of a local store (whose writes the server fsyncs itself).
    pub fn local_dir(&self) -> Option<PathBuf> {
        match self {
            BlobUrl::Local(dir) => Some(dir.clone()),
            BlobUrl::S3 { .. } => None,
        }
    }

    /// Parses `file:///abs/path` or `s3://bucket[/prefix]`; `None` is the data
    /// directory's `blobs/`.
    pub fn parse(url: Option<&str>, data: &DataDir) -> Result<BlobUrl, StoreError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(BlobUrl::Local(data.blobs()));
        };
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(StoreError::Invalid(format!(
                    "blob URL {url}: a file URL needs an absolute path (file:///srv/gridwalk/blobs)"
                )));
            }
            return Ok(BlobUrl::Local(PathBuf::from(path)));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = !bucket.is_empty()
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            if !valid_bucket {
                return Err(StoreError::Invalid(format!(
                    "blob URL {url}: '{bucket}' is not an S3 bucket name"
                )));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|seg| seg == "." || seg == "..") || prefix.contains("//") {
                return Err(StoreError::Invalid(format!(
                    "blob URL {url}: the prefix must be plain path segments"
                )));
            }
            return Ok(BlobUrl::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        Err(StoreError::Invalid(format!(
            "blob URL {url}: use s3://bucket/prefix or file:///path"
        )))
    }
}

/// Opens the blob store `url` names. For S3 the connection comes from the `AWS_*`
/// variables among `env` (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`…, as object_store's
/// `AmazonS3Builder` reads them); other variables are ignored. A local directory is
/// created if needed.
pub fn open(
    url: &BlobUrl,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    match url {
        BlobUrl::Local(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(StoreError::io(format!("cannot create {}", dir.display())))?;
            // Automatic clean-up: a finished upload's emptied folder goes too.
            let fs = LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| StoreError::Blob(e.to_string()))?
                .with_automatic_cleanup(true);
            Ok(Arc::new(fs))
        }
        BlobUrl::S3 { bucket, prefix } => {
            let mut b = AmazonS3Builder::new();
            for (key, value) in env {
                if !key.starts_with("AWS_") {
                    continue;
                }
                if let Ok(k) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                    b = b.with_config(k, value);
                }
            }
            let s3 = b
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| StoreError::Blob(e.to_string()))?;
            if prefix.is_empty() {
                Ok(Arc::new(s3))
            } else {
                Ok(Arc::new(PrefixStore::new(s3, prefix.as_str())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> DataDir {
        DataDir(PathBuf::from("/srv/gw"))
    }

    #[test]
    fn blob_urls_parse_and_bad_ones_are_refused() {
        assert_eq!(
            BlobUrl::parse(None, &data()).expect("default"),
            BlobUrl::Local(PathBuf::from("/srv/gw/blobs"))
        );
        assert_eq!(
            BlobUrl::parse(Some("file:///var/blobs"), &data()).expect("file"),
            BlobUrl::Local(PathBuf::from("/var/blobs"))
        );
        assert_eq!(
            BlobUrl::parse(Some("s3://gridwalk-photos/town/320413/"), &data()).expect("s3"),
            BlobUrl::S3 {
                bucket: "gridwalk-photos".into(),
                prefix: "town/320413".into()
            }
        );
        assert_eq!(
            BlobUrl::parse(Some("s3://b"), &data()).expect("bucket only"),
            BlobUrl::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "s3://",
            "s3://Bad_Bucket/x",
            "s3://b/../etc",
            "s3://b/a//c",
            "file://relative/path",
            "gs://bucket",
            "/plain/path",
        ] {
            assert!(
                matches!(
                    BlobUrl::parse(Some(bad), &data()),
                    Err(StoreError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn s3_settings_come_only_from_aws_variables() {
        let url = BlobUrl::S3 {
            bucket: "photos".into(),
            prefix: "p".into(),
        };
        let env = [
            ("AWS_ENDPOINT", "http://127.0.0.1:9"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("HOME", "/root"),
            ("AWS_NOT_A_SETTING", "x"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let store = open(&url, env.clone()).expect("s3 store");
        assert_eq!(store.to_string(), "PrefixObjectStore(p)");
        let root = BlobUrl::S3 {
            bucket: "photos".into(),
            prefix: String::new(),
        };
        let store = open(&root, env).expect("s3 store");
        assert!(store.to_string().contains("photos"), "{store}");
        // Without a region or an endpoint among the AWS_* variables the defaults hold;
        // an unparsable setting is an error, not ignored.
        let bad = [("AWS_ALLOW_HTTP".to_string(), "maybe".to_string())];
        assert!(matches!(open(&url, bad), Err(StoreError::Blob(_))));
    }
}
