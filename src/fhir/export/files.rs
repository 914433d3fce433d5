//! Where export files live: the `object_store` abstraction, a local folder by default
//! (`--export-dir`) or S3-compatible object storage (`--export-store s3://bucket/prefix`, credentials
//! and endpoint from the standard `AWS_*` variables) when several nodes serve one database. A file is
//! `<prefix>/<job id>/<name>`.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

/// The export file store, shared by the worker and the download handler.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
    /// How the store was named, for logs.
    pub description: String,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("description", &self.description).finish()
    }
}

impl FileStore {
    /// Opens `spec`: `s3://bucket/prefix` (S3 or S3-compatible storage, configured by `AWS_*`
    /// variables such as `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ENDPOINT`), or a local folder (created if missing).
    pub fn open(spec: &str) -> Result<FileStore, String> {
        #[cfg(not(feature = "export-s3"))]
        if spec.starts_with("s3://") {
            return Err(format!(
                "--export-store {spec:?}: this build has no S3 support; build with --features export-s3"
            ));
        }
        #[cfg(feature = "export-s3")]
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("--export-store {spec:?}: name a bucket, as in s3://bucket/prefix"));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| format!("--export-store {spec:?}: {e}"))?;
            return Ok(FileStore {
                inner: Arc::new(s3),
                prefix: Path::from(prefix.trim_matches('/')),
                description: spec.to_string(),
            });
        }
        let dir = spec.strip_prefix("file://").unwrap_or(spec);
        std::fs::create_dir_all(dir).map_err(|e| format!("export folder {dir}: {e}"))?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map(|l| l.with_automatic_cleanup(true))
            .map_err(|e| format!("export folder {dir}: {e}"))?;
        Ok(FileStore { inner: Arc::new(local), prefix: Path::from(""), description: dir.to_string() })
    }

    fn path(&self, job: &str, name: &str) -> Path {
        let mut parts: Vec<object_store::path::PathPart<'_>> = self.prefix.parts().collect();
        parts.push(object_store::path::PathPart::from(job));
        parts.push(object_store::path::PathPart::from(name));
        Path::from_iter(parts)
    }

    /// Stores one whole file.
    pub async fn put(&self, job: &str, name: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.inner
            .put(&self.path(job, name), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| format!("storing export file {job}/{name}: {e}"))
    }

    /// The file's bytes as a stream (None: no such file).
    pub async fn get(
        &self,
        job: &str,
        name: &str,
    ) -> Result<
        Option<(u64, futures_util::stream::BoxStream<'static, Result<actix_web::web::Bytes, object_store::Error>>)>,
        String,
    > {
        match self.inner.get(&self.path(job, name)).await {
            Ok(r) => {
                let size = r.meta.size;
                Ok(Some((size, r.into_stream())))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(format!("reading export file {job}/{name}: {e}")),
        }
    }

    /// Removes files of a job (a missing file is not an error).
    pub async fn delete(&self, job: &str, names: &[String]) -> Result<(), String> {
        for name in names {
            match self.inner.delete(&self.path(job, name)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(format!("removing export file {job}/{name}: {e}")),
            }
        }
        Ok(())
    }
}
