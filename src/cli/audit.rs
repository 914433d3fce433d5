//! `bedside audit …`: the operator commands of the access log.

use clap::Subcommand;

use super::CliError;
use crate::audit::retention;
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

pub fn audit(cmd: AuditCommand) -> Result<(), CliError> {
    match cmd {
        AuditCommand::Prune { db, before } => {
            let cutoff = retention::cutoff(&before, crate::clock::now_millis()).map_err(CliError::Invalid)?;
            let store = Store::open(&db.url(), 1)?;
            let n = retention::prune(&store, cutoff)?;
            let noun = if n == 1 { "record" } else { "records" };
            println!("Removed {n} access {noun} recorded before {}.", retention::describe(cutoff));
            Ok(())
        }
    }
}
