//! Storage: diesel over SQLite (embedded, default) or PostgreSQL (production, many nodes).
//!
//! This is the only module that knows which backend is in use. Everything above it sees a [`Store`]
//! (a pool) and functions that take `&mut AnyConnection` and return [`StoreError`].

pub mod audit;
pub mod auth;
pub mod exports;
pub mod index;
pub mod keys;
pub mod meta;
pub mod resources;
pub mod schema;
pub mod search;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to either backend. Queries written with diesel's DSL run on both; backend-specific
/// SQL goes through [`with_backend!`].
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Errors from the storage layer. `Conflict` is an optimistic-concurrency loss (somebody else wrote
/// the same resource first); callers turn it into 409/412.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database connection error: {0}")]
    Pool(String),
    #[error("concurrent update of {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A statement would exceed what the database accepts (bound values): the request must shrink.
    #[error("{0}")]
    TooComplex(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a URL names. SQLite is a path or `sqlite://path`; PostgreSQL `postgres://…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// r2d2 manager that picks the backend from the URL scheme (diesel's own `establish` would try each
/// backend in turn, and SQLite accepts any string as a file name).
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl Manager {
    fn sqlite_path(&self) -> &str {
        self.url.strip_prefix("sqlite://").unwrap_or(&self.url)
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(AnyConnection::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut c =
                    SqliteConnection::establish(self.sqlite_path()).map_err(diesel::r2d2::Error::ConnectionError)?;
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// The connection pool every request and command goes through.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
}

pub type Conn = PooledConnection<Manager>;

impl Store {
    /// Opens the database named by `url`, creating a SQLite file's parent folder if needed, and runs
    /// the embedded migrations.
    pub fn open(url: &str, pool_size: u32) -> StoreResult<Store> {
        let backend = Backend::of_url(url);
        let manager = Manager { url: url.to_string(), backend };
        if backend == Backend::Sqlite {
            if let Some(parent) = std::path::Path::new(manager.sqlite_path()).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| StoreError::Pool(format!("cannot create {}: {e}", parent.display())))?;
                }
            }
        }
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(std::time::Duration::from_secs(30))
            .build(manager)
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = Store { pool, backend };
        store.migrate()?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> StoreResult<Conn> {
        self.pool.get().map_err(|e| StoreError::Pool(e.to_string()))
    }

    /// A connection, waiting at most `wait` for one (for callers on a request's thread).
    pub fn conn_within(&self, wait: std::time::Duration) -> StoreResult<Conn> {
        self.pool.get_timeout(wait).map_err(|e| StoreError::Pool(e.to_string()))
    }

    fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let result = match &mut *conn {
            AnyConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
            AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        };
        result.map_err(|e| StoreError::Pool(format!("migration failed: {e}")))
    }
}

/// Runs `f` in one write transaction. On SQLite the first statement is a write, so the transaction
/// takes the write lock up front (waiting `busy_timeout` for it) instead of failing with `SQLITE_BUSY`
/// when a read lock has to be upgraded; PostgreSQL relies on optimistic version checks and unique
/// constraints.
pub fn write_tx<T, E: From<diesel::result::Error>>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E> {
    conn.transaction(|c| {
        if matches!(c, AnyConnection::Sqlite(_)) {
            c.batch_execute("UPDATE server_meta SET value = value WHERE name = 'write-lock'")?;
        }
        f(c)
    })
}
