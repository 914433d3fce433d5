//! Where export files live: the `object_store` abstraction, a local folder by default
//! (`--export-dir`) or S3-compatible object storage (`--export-store s3://bucket/prefix`, credentials
//! and endpoint from the standard `AWS_*` variables) when several nodes serve one database. A file is
//! `<prefix>/<job id>/<name>`.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

/// Why the export file store could not be opened, or a file not be stored, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// `--export-store` names something this build cannot use.
    #[error("--export-store {spec:?}: {why}")]
    Config { spec: String, why: String },
    /// The local export folder could not be created.
    #[error("export folder {dir}: {source}")]
    Folder { dir: String, source: std::io::Error },
    /// The object store refused (`action` is "storing", "reading" or "removing").
    #[error("{action} export file {job}/{name}: {source}")]
    Object { action: &'static str, job: String, name: String, source: Box<object_store::Error> },
    /// The object store could not be set up.
    #[error("export store {spec:?}: {source}")]
    Setup { spec: String, source: Box<object_store::Error> },
}

fn object(action: &'static str, job: &str, name: &str) -> impl FnOnce(object_store::Error) -> FileError {
    let (job, name) = (job.to_string(), name.to_string());
    move |source| FileError::Object { action, job, name, source: Box::new(source) }
}

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
    pub fn open(spec: &str) -> Result<FileStore, FileError> {
        #[cfg(not(feature = "export-s3"))]
        if spec.starts_with("s3://") {
            return Err(FileError::Config {
                spec: spec.into(),
                why: "this build has no S3 support; build with --features export-s3".into(),
            });
        }
        #[cfg(feature = "export-s3")]
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(FileError::Config {
                    spec: spec.into(),
                    why: "name a bucket, as in s3://bucket/prefix".into(),
                });
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|source| FileError::Setup { spec: spec.into(), source: Box::new(source) })?;
            return Ok(FileStore {
                inner: Arc::new(s3),
                prefix: Path::from(prefix.trim_matches('/')),
                description: spec.to_string(),
            });
        }
        let dir = spec.strip_prefix("file://").unwrap_or(spec);
        std::fs::create_dir_all(dir).map_err(|source| FileError::Folder { dir: dir.into(), source })?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map(|l| l.with_automatic_cleanup(true))
            .map_err(|source| FileError::Setup { spec: spec.into(), source: Box::new(source) })?;
        Ok(FileStore { inner: Arc::new(local), prefix: Path::from(""), description: dir.to_string() })
    }

    fn path(&self, job: &str, name: &str) -> Path {
        let mut parts: Vec<object_store::path::PathPart<'_>> = self.prefix.parts().collect();
        parts.push(object_store::path::PathPart::from(job));
        parts.push(object_store::path::PathPart::from(name));
        Path::from_iter(parts)
    }

    /// Stores one whole file.
    pub async fn put(&self, job: &str, name: &str, bytes: Vec<u8>) -> Result<(), FileError> {
        self.inner
            .put(&self.path(job, name), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(object("storing", job, name))
    }

    /// The file's bytes as a stream (None: no such file).
    pub async fn get(
        &self,
        job: &str,
        name: &str,
    ) -> Result<
        Option<(u64, futures_util::stream::BoxStream<'static, Result<actix_web::web::Bytes, object_store::Error>>)>,
        FileError,
    > {
        match self.inner.get(&self.path(job, name)).await {
            Ok(r) => {
                let size = r.meta.size;
                Ok(Some((size, r.into_stream())))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object("reading", job, name)(e)),
        }
    }

    /// Removes files of a job (a missing file is not an error).
    pub async fn delete(&self, job: &str, names: &[String]) -> Result<(), FileError> {
        for name in names {
            match self.inner.delete(&self.path(job, name)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(object("removing", job, name)(e)),
            }
        }
        Ok(())
    }
}
