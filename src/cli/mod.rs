//! The `bedside` command line (clap): `serve`, `import`, `token`, `reindex`, `migrate`,
//! `search-params`, `compartments`, `bench`, `user`, `client`, `launch`, `keys`, `audit`. Each command's
//! work is in a submodule; errors are one [`CliError`] that `main` prints as one line.

pub mod apps;
pub mod audit;
pub mod bench;
pub mod data;
pub mod keys;
pub mod serve;

use clap::{Parser, Subcommand};

use crate::config::{DbArgs, ServeArgs};
use crate::store::StoreError;

/// What a command can fail with; printed as one line (`error: …`), exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments or the input are not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The user, client or other thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    User(#[from] crate::smart::users::UserError),
    #[error(transparent)]
    Registration(#[from] crate::smart::clients::RegistrationError),
    #[error(transparent)]
    Launch(#[from] crate::smart::launch::LaunchError),
    #[error(transparent)]
    Start(#[from] crate::app::StartError),
    #[error(transparent)]
    Demo(#[from] crate::demo::seed::SeedError),
    #[error("signing the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    /// A command that ran but did not succeed (e.g. files that could not be imported).
    #[error("{0}")]
    Failed(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::Invalid(message)
    }
}

#[derive(Parser)]
#[command(name = "bedside", version, about = "FHIR R4 patient-access API server with SMART-on-FHIR")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Load FHIR R4 Bundles (transaction, batch, collection) and NDJSON files or folders of them.
    Import {
        #[command(flatten)]
        db: DbArgs,
        /// Files or folders to load (*.json, *.ndjson).
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Public base URL of the server that will serve the data (for fullUrl handling).
        #[arg(long, env = "BEDSIDE_BASE_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Print an access token that the server accepts (an operator tool: it signs with the server's key).
    Token {
        #[command(flatten)]
        db: DbArgs,
        /// Scopes, e.g. "system/*.*" or "patient/*.read".
        #[arg(long, default_value = "system/*.read")]
        scope: String,
        /// Bind the token to one patient's compartment.
        #[arg(long)]
        patient: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        expires_in: u64,
        /// Public base URL of the server (the token's audience is <base-url>/fhir).
        #[arg(long, env = "BEDSIDE_BASE_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Rebuild every search index row and compartment from the stored resources.
    Reindex {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the search parameters served, per resource type, as Markdown (generated from the registry).
    SearchParams,
    /// Print which resources belong to a patient (the access model's compartment rules), as Markdown.
    Compartments,
    /// Benchmark the main searches on N imported Synthea patients (use a release build);
    /// `bench load` runs the HTTP load benchmark.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        mode: Option<bench::BenchMode>,
        /// Folder of Synthea R4 Bundles (one patient each; reused in turn to reach --patients).
        #[arg(long, default_value = "../shared/data/synthea")]
        data: std::path::PathBuf,
        #[arg(long, default_value_t = 100)]
        patients: usize,
        /// Database to load into (default: a fresh temporary SQLite file). Use an empty database.
        #[arg(long)]
        database_url: Option<String>,
        /// Timed runs per measurement (the median is reported).
        #[arg(long, default_value_t = 15)]
        repeat: usize,
    },
    /// Manage sign-in users (patients, practitioners).
    #[command(subcommand)]
    User(apps::UserCommand),
    /// Manage registered apps (OAuth clients).
    #[command(subcommand)]
    Client(apps::ClientCommand),
    /// Create an EHR launch context; prints the launch value alone on the last line.
    Launch(apps::LaunchArgs),
    /// The server's signing keys: list, rotate, prune.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The access log (who read or changed which patient's data).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create or upgrade the database schema and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::serve(args),
        Command::Import { db, paths, base_url } => data::import(db, paths, base_url),
        Command::Token { db, scope, patient, expires_in, base_url } => {
            data::print_token(db, scope, patient, expires_in, base_url)
        }
        Command::Reindex { db } => data::reindex(db),
        Command::Bench { mode: Some(mode), .. } => bench::bench_load(mode),
        Command::Bench { mode: None, data, patients, database_url, repeat } => {
            bench::bench(data, patients, database_url, repeat)
        }
        Command::SearchParams => {
            print!("{}", crate::fhir::capability::search_parameters_markdown());
            Ok(())
        }
        Command::Compartments => {
            print!("{}", crate::fhir::compartment::markdown());
            Ok(())
        }
        Command::User(cmd) => apps::user(cmd),
        Command::Client(cmd) => apps::client(cmd),
        Command::Launch(args) => apps::launch(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Audit(cmd) => audit::audit(cmd),
        Command::Migrate { db } => data::migrate(db),
    }
}
