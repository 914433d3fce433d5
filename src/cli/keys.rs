//! `bedside keys list|rotate|prune`: the signing keys and their rotation, for operators. Each prints
//! what it did; an error is one line (the caller prints it) and a non-zero exit.

use clap::Subcommand;
use time::macros::format_description;
use time::OffsetDateTime;

use super::CliError;
use crate::config::DbArgs;
use crate::smart::keys::{self, ALGORITHMS, LEEWAY_SECS, RELOAD_EVERY};
use crate::store::keys as key_rows;
use crate::store::{AnyConnection, Store};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: kid, algorithm, status (active, retiring, expired), created, retire time.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Make a new key the active signer (both algorithms unless --alg). The previous key stays in the
    /// JWKS and keeps verifying until the last token it signed has expired (at least an hour), then
    /// it is refused. Every node signs with the new key within 30 seconds. Keys past their retire
    /// time are deleted first.
    Rotate {
        #[command(flatten)]
        db: DbArgs,
        /// ES256 (access tokens) or RS256 (id_tokens).
        #[arg(long)]
        alg: Option<String>,
        /// Retire the previous key this long from now instead, e.g. 0s for a compromised key (tokens
        /// it signed are refused from then on, on every node within 30 seconds).
        #[arg(long)]
        retire_after: Option<String>,
    },
    /// Delete the keys past their retire time (a rotation does this too).
    Prune {
        #[command(flatten)]
        db: DbArgs,
    },
}

fn open(db: &DbArgs) -> Result<crate::store::Conn, CliError> {
    Ok(Store::open(&db.url(), 1).and_then(|s| s.conn())?)
}

/// A Unix time as `2026-12-01T10:00:00Z`.
fn when(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")).ok())
        .unwrap_or_else(|| format!("{secs} s after 1970"))
}

/// The algorithms `--alg` names (all when absent).
pub fn algorithms(alg: Option<&str>) -> Result<Vec<&'static str>, String> {
    match alg {
        None => Ok(ALGORITHMS.to_vec()),
        Some(a) => ALGORITHMS
            .iter()
            .find(|k| k.eq_ignore_ascii_case(a.trim()))
            .map(|k| vec![*k])
            .ok_or_else(|| format!("--alg {a:?}: expected ES256 (access tokens) or RS256 (id_tokens)")),
    }
}

/// `--retire-after` in seconds.
pub fn retire_after(text: &str) -> Result<u64, String> {
    humantime::parse_duration(text.trim())
        .map(|d| d.as_secs())
        .map_err(|e| format!("--retire-after {text:?}: expected a duration such as 0s, 30m or 2h ({e})"))
}

pub fn run(cmd: KeysCommand) -> Result<(), CliError> {
    match cmd {
        KeysCommand::List { db } => {
            let mut conn = open(&db)?;
            list(&mut conn)
        }
        KeysCommand::Prune { db } => {
            let mut conn = open(&db)?;
            let gone = keys::prune(&mut conn)?;
            print_removed(&gone);
            if gone.is_empty() {
                println!("no key is past its retire time");
            }
            Ok(())
        }
        KeysCommand::Rotate { db, alg, retire_after: after } => {
            // Check every argument before touching the database.
            let algs = algorithms(alg.as_deref())?;
            let after = after.as_deref().map(retire_after).transpose()?;
            let mut conn = open(&db)?;
            print_removed(&keys::prune(&mut conn)?);
            for alg in algs {
                let r = keys::rotate(&mut conn, alg, after).map_err(|e| format!("rotating the {alg} key: {e}"))?;
                println!(
                    "{alg}: new signing key {}; every node signs with it within {} seconds",
                    r.kid,
                    RELOAD_EVERY.as_secs()
                );
                for old in &r.retired {
                    let cut = if old.retire_at < old.signed_until.saturating_add(LEEWAY_SECS as i64) {
                        format!("; tokens it signed that expire after {} are refused", when(old.retire_at))
                    } else {
                        String::new()
                    };
                    println!(
                        "{alg}: previous key {} retired: in the JWKS and verifying until {}{cut}",
                        old.kid,
                        when(old.retire_at)
                    );
                }
            }
            Ok(())
        }
    }
}

fn print_removed(gone: &[String]) {
    if !gone.is_empty() {
        println!("removed {} key(s) past their retire time: {}", gone.len(), gone.join(", "));
    }
}

fn list(conn: &mut AnyConnection) -> Result<(), CliError> {
    let rows = key_rows::all(conn)?;
    let now = crate::clock::now_secs();
    println!("{:<18} {:<6} {:<9} {:<21} retire at", "kid", "alg", "status", "created");
    for r in &rows {
        let status = match r.retire_at {
            None => "active",
            Some(t) if now < t => "retiring",
            Some(_) => "expired",
        };
        let created = match r.created_at.get(..19) {
            Some(s) => format!("{s}Z"),
            None => r.created_at.clone(),
        };
        let retire = r.retire_at.map(when).unwrap_or_else(|| "-".into());
        println!("{:<18} {:<6} {:<9} {:<21} {retire}", r.kid, r.alg, status, created);
    }
    println!("{} key(s)", rows.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked() {
        assert_eq!(algorithms(None).unwrap(), vec!["ES256", "RS256"]);
        assert_eq!(algorithms(Some("es256")).unwrap(), vec!["ES256"]);
        assert!(algorithms(Some("HS256")).unwrap_err().contains("expected ES256"));
        assert_eq!(retire_after("0s"), Ok(0));
        assert_eq!(retire_after("2h"), Ok(7200));
        assert!(retire_after("soon").unwrap_err().starts_with("--retire-after \"soon\""));
        assert_eq!(when(0), "1970-01-01T00:00:00Z");
    }
}
