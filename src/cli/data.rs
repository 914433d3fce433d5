//! Commands on the stored data: `import`, `reindex`, `migrate`, and `token` (an operator's access
//! token).

use super::CliError;
use crate::config::{DbArgs, Settings};
use crate::smart::{keys::KeySet, token};
use crate::store::Store;

/// `bedside token`: an access token signed with the server's key (an operator tool).
pub fn print_token(
    db: DbArgs,
    scope: String,
    patient: Option<String>,
    expires_in: u64,
    base_url: String,
) -> Result<(), CliError> {
    crate::smart::scopes::Scopes::parse(&scope)?;
    let store = Store::open(&db.url(), 1)?;
    let mut conn = store.conn()?;
    // The key's lease covers this token, so a rotation keeps the key until the token has expired.
    let until =
        crate::clock::now_secs().saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX)).saturating_add(60);
    let keys = KeySet::load_for_signing(&mut conn, until)?;
    let settings = Settings::for_base(&base_url);
    let (tok, _) = token::issue(
        &keys,
        &settings.fhir_base(),
        &token::TokenRequest {
            subject: "operator".into(),
            client_id: crate::smart::clients::OPERATOR_CLIENT.into(),
            scope,
            patient,
            lifetime_secs: expires_in,
            ..Default::default()
        },
    )?;
    println!("{tok}");
    Ok(())
}

/// `bedside reindex`: rebuilds every search index row and compartment.
pub fn reindex(db: DbArgs) -> Result<(), CliError> {
    let store = Store::open(&db.url(), 2)?;
    let bar = indicatif::ProgressBar::new_spinner();
    let n = crate::reindex::reindex_all(&store, 500, |done| bar.set_message(format!("{done} resources re-indexed")))?;
    crate::reindex::record_current(&store)?;
    bar.finish_and_clear();
    println!("Re-indexed {n} resources.");
    Ok(())
}

/// Re-indexes a database whose index was built with other search or compartment rules (an upgrade).
pub fn ensure_index(store: &Store) -> Result<(), CliError> {
    let n = crate::reindex::ensure_current(store, |done| {
        if done % 5000 == 0 {
            tracing::info!(done, "re-indexing after a change of the search or compartment rules")
        }
    })?;
    if n > 0 {
        tracing::warn!(resources = n, "re-indexed the database for this version's search and compartment rules");
    }
    Ok(())
}

/// `bedside import`: loads Bundles and NDJSON files.
pub fn import(db: DbArgs, paths: Vec<std::path::PathBuf>, base_url: String) -> Result<(), CliError> {
    let store = Store::open(&db.url(), 2)?;
    ensure_index(&store)?;
    let settings = Settings::for_base(&base_url);
    let report = crate::import::import_paths(&store, &settings, &paths, true);
    report.print();
    if report.failed_files.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{} file(s) could not be loaded", report.failed_files.len())))
    }
}

/// Creates or upgrades the database schema.
pub fn migrate(db: DbArgs) -> Result<(), CliError> {
    Store::open(&db.url(), 1)?;
    Ok(())
}
