//! The application state: what every request may need, shared by all workers (and, through the
//! database, by all nodes). The route table that serves it is in `crate::server`.

use crate::config::Settings;
use crate::smart::keys::NodeKeys;
use crate::store::{AnyConnection, Store, StoreError};
use crate::{audit, fhir, smart, store};

/// Why the application state could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ExportFiles(#[from] fhir::export::files::FileError),
}

/// Everything a request may need, shared by all workers (and, through the database, by all nodes).
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    /// The signing keys, reloaded from the database so that a rotation anywhere reaches this node.
    pub keys: NodeKeys,
    /// Access tokens already verified (signature and claims), so each is checked once, not per request.
    pub tokens: smart::token_cache::TokenCache,
    /// HMAC key for paging cursors (stored in the database so every node accepts every cursor).
    pub cursor_secret: Vec<u8>,
    /// This node's queue to the access log's background writer.
    audit: std::sync::Arc<audit::AuditLog>,
    /// Automatic access-log retention (`--audit-retention`), stopped when the state is dropped.
    _retention: Option<audit::retention::Retention>,
    /// Where Bulk Data export files are kept (shared by every node through object storage).
    pub exports: fhir::export::files::FileStore,
    /// This node's export worker (when `settings.export.worker`), stopped when the state is dropped.
    _export_worker: Option<fhir::export::worker::Worker>,
}

impl AppState {
    /// The access log (records are queued here and written in the background).
    pub fn audit(&self) -> &std::sync::Arc<audit::AuditLog> {
        &self.audit
    }
}

impl AppState {
    /// Loads (or on first start creates) the keys and secrets kept in the database.
    pub fn new(store: Store, settings: Settings) -> Result<AppState, StartError> {
        // The longest-lived tokens this node signs: access tokens and id_tokens.
        let horizon = settings.token_lifetime.max(smart::token::ID_TOKEN_LIFETIME);
        let keys = NodeKeys::start(store.clone(), horizon)?;
        let mut conn = store.conn()?;
        let cursor_secret = match store::meta::get(&mut conn, "cursor-secret")? {
            Some(s) => s.into_bytes(),
            None => {
                let s = uuid::Uuid::new_v4().to_string() + &uuid::Uuid::new_v4().to_string();
                store::write_tx(&mut conn, |c| -> Result<(), StoreError> {
                    if store::meta::get(c, "cursor-secret")?.is_none() {
                        store::meta::set(c, "cursor-secret", &s)?;
                    }
                    Ok(())
                })?;
                store::meta::get(&mut conn, "cursor-secret")?
                    .ok_or_else(|| StoreError::Corrupt("cursor secret missing".into()))?
                    .into_bytes()
            }
        };
        drop(conn);
        let audit = std::sync::Arc::new(audit::AuditLog::start(store.clone(), settings.audit_queue));
        let _retention = settings.audit_retention.map(|keep| audit::retention::Retention::start(store.clone(), keep));
        let exports = fhir::export::files::FileStore::open(&settings.export.store)?;
        let _export_worker = settings
            .export
            .worker
            .then(|| fhir::export::worker::Worker::start(store.clone(), settings.clone(), exports.clone()));
        Ok(AppState {
            store,
            settings,
            keys,
            tokens: smart::token_cache::TokenCache::default(),
            cursor_secret,
            audit,
            _retention,
            exports,
            _export_worker,
        })
    }
}

/// Runs `f` with a pooled connection on the blocking thread pool: the one way handlers reach the
/// database (`E` is the handler's error type: `ApiError` for FHIR, `OAuthError` for OAuth endpoints).
pub async fn db<T, E, F>(state: &actix_web::web::Data<AppState>, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + From<actix_web::error::BlockingError> + Send + 'static,
    F: FnOnce(&mut AnyConnection) -> Result<T, E> + Send + 'static,
{
    let store = state.store.clone();
    actix_web::web::block(move || {
        let mut conn = store.conn()?;
        f(&mut conn)
    })
    .await?
}
