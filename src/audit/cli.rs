//! `bedside audit …`: the operator commands of the access log.

use clap::Subcommand;

use super::retention;
use crate::config::DbArgs;
use crate::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Remove access records older than a date or an age, e.g. `--before 2024-01-01` or
    /// `--before 400d`. Prints how many were removed.
    Prune {
        #[command(flatten)]
        db: DbArgs,
        /// A UTC date (2024-01-31), an RFC 3339 date and time, or an age (400d, 12h, 2w; units as
        /// in 'humantime'). Records recorded before it are removed.
        #[arg(long)]
        before: String,
    },
}

pub fn audit(cmd: AuditCommand) -> Result<(), String> {
    match cmd {
        AuditCommand::Prune { db, before } => {
            let cutoff = retention::cutoff(&before, crate::fhir::instant::now().millis)?;
            let store = Store::open(&db.url(), 1).map_err(|e| e.to_string())?;
            let n = retention::prune(&store, cutoff).map_err(|e| e.to_string())?;
            let noun = if n == 1 { "record" } else { "records" };
            println!("Removed {n} access {noun} recorded before {}.", retention::describe(cutoff));
            Ok(())
        }
    }
}
