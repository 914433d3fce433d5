//! The `bedside` command line: serve, import, token.

use std::process::ExitCode;

use actix_web::{middleware, web, App, HttpServer};
use clap::{Parser, Subcommand};

use bedside::config::{DbArgs, ServeArgs, Settings};
use bedside::smart::{keys::KeySet, token};
use bedside::store::Store;
use bedside::AppState;

#[derive(Parser)]
#[command(name = "bedside", version, about = "FHIR R4 patient-access API server with SMART-on-FHIR")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        mode: Option<BenchMode>,
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
    User(bedside::smart::cli::UserCommand),
    /// Manage registered apps (OAuth clients).
    #[command(subcommand)]
    Client(bedside::smart::cli::ClientCommand),
    /// Create an EHR launch context; prints the launch value alone on the last line.
    Launch(bedside::smart::cli::LaunchArgs),
    /// The access log (who read or changed which patient's data).
    #[command(subcommand)]
    Audit(bedside::audit::cli::AuditCommand),
    /// Create or upgrade the database schema and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum BenchMode {
    /// Load benchmark: loads a data set, starts the server on a free loopback port (rate limiting
    /// off), drives each workload with wrk at fixed concurrency next to a bare actix-web handler
    /// returning the same Observation bytes (the ceiling), and prints one table (use a release build;
    /// needs `wrk`).
    Load {
        /// Folder of Synthea R4 transaction Bundles (loaded again with fresh ids to reach --resources).
        #[arg(long, default_value = "../shared/data/synthea")]
        data: std::path::PathBuf,
        /// Resources to hold before the workloads run: 500, 10k, 100k, 1M.
        #[arg(long, default_value = "10k")]
        resources: String,
        /// Database (default: a fresh temporary SQLite file). A PostgreSQL URL must name an empty
        /// database, or one a previous run filled (it is only topped up to --resources).
        #[arg(long = "database", alias = "database-url")]
        database: Option<String>,
        /// Seconds per workload.
        #[arg(long, default_value_t = 5)]
        duration: u64,
        /// wrk's open connections.
        #[arg(long, default_value_t = 16)]
        connections: u32,
        /// wrk's threads.
        #[arg(long, default_value_t = 1)]
        threads: u32,
        /// Server worker threads (default: the number of CPUs).
        #[arg(long)]
        workers: Option<usize>,
        /// Synthea Bundles used by the transaction-ingest and NDJSON-import workloads.
        #[arg(long, default_value_t = 8)]
        ingest_files: usize,
        /// Concurrent clients of the transaction-ingest workload.
        #[arg(long, default_value_t = 2)]
        ingest_clients: usize,
        /// FHIR base URL of another server loaded with the same data: the read and search workloads
        /// run against it too, without a token, for a peer column.
        #[arg(long)]
        peer: Option<String>,
        /// Also write the results as JSON to this file (to compare runs).
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BEDSIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("BEDSIDE_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    if json {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Import { db, paths, base_url } => import(db, paths, base_url),
        Command::Token { db, scope, patient, expires_in, base_url } => {
            print_token(db, scope, patient, expires_in, base_url)
        }
        Command::Reindex { db } => reindex(db),
        Command::Bench { mode: Some(mode), .. } => bench_load(mode),
        Command::Bench { mode: None, data, patients, database_url, repeat } => {
            bench(data, patients, database_url, repeat)
        }
        Command::SearchParams => {
            print!("{}", bedside::fhir::capability::search_parameters_markdown());
            Ok(())
        }
        Command::Compartments => {
            print!("{}", bedside::fhir::compartment::markdown());
            Ok(())
        }
        Command::User(cmd) => bedside::smart::cli::user(cmd),
        Command::Client(cmd) => bedside::smart::cli::client(cmd),
        Command::Launch(args) => bedside::smart::cli::launch(args),
        Command::Audit(cmd) => bedside::audit::cli::audit(cmd),
        Command::Migrate { db } => Store::open(&db.url(), 1).map(|_| ()).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_token(
    db: DbArgs,
    scope: String,
    patient: Option<String>,
    expires_in: u64,
    base_url: String,
) -> Result<(), String> {
    bedside::smart::scopes::Scopes::parse(&scope)?;
    let store = Store::open(&db.url(), 1).map_err(|e| e.to_string())?;
    let mut conn = store.conn().map_err(|e| e.to_string())?;
    let keys = KeySet::load_or_create(&mut conn).map_err(|e| e.to_string())?;
    let settings = Settings::for_base(&base_url);
    let (tok, _) = token::issue(
        &keys,
        &settings.fhir_base(),
        &token::TokenRequest {
            subject: "operator".into(),
            client_id: "bedside-cli".into(),
            scope,
            patient,
            lifetime_secs: expires_in,
            ..Default::default()
        },
    )?;
    println!("{tok}");
    Ok(())
}

fn bench(data: std::path::PathBuf, patients: usize, database_url: Option<String>, repeat: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("bedside-bench-{}", std::process::id()));
    let url = database_url.unwrap_or_else(|| dir.join("bench.db").to_string_lossy().into_owned());
    let result =
        bedside::bench::run(&bedside::bench::BenchArgs { data, patients, database_url: url, repeat: repeat.max(1) });
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", result?);
    Ok(())
}

fn bench_load(mode: BenchMode) -> Result<(), String> {
    let BenchMode::Load {
        data,
        resources,
        database,
        duration,
        connections,
        threads,
        workers,
        ingest_files,
        ingest_clients,
        peer,
        json,
    } = mode;
    let args = bedside::bench::load::LoadArgs {
        data,
        resources: bedside::bench::dataset::parse_size(&resources)?,
        database_url: database,
        duration: std::time::Duration::from_secs(duration.max(1)),
        connections,
        threads,
        workers: workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
        ingest_files,
        ingest_clients,
        peer,
        json,
    };
    let report = bedside::bench::load::run(&args)?;
    println!("{}", bedside::bench::load::table(&report));
    Ok(())
}

fn reindex(db: DbArgs) -> Result<(), String> {
    let store = Store::open(&db.url(), 2).map_err(|e| e.to_string())?;
    let bar = indicatif::ProgressBar::new_spinner();
    let n = bedside::reindex::reindex_all(&store, 500, |done| bar.set_message(format!("{done} resources re-indexed")))
        .map_err(|e| e.to_string())?;
    bedside::reindex::record_current(&store).map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!("Re-indexed {n} resources.");
    Ok(())
}

/// Re-indexes a database whose index was built with other search or compartment rules (an upgrade).
fn ensure_index(store: &Store) -> Result<(), String> {
    let n = bedside::reindex::ensure_current(store, |done| {
        if done % 5000 == 0 {
            tracing::info!(done, "re-indexing after a change of the search or compartment rules")
        }
    })
    .map_err(|e| e.to_string())?;
    if n > 0 {
        tracing::warn!(resources = n, "re-indexed the database for this version's search and compartment rules");
    }
    Ok(())
}

fn import(db: DbArgs, paths: Vec<std::path::PathBuf>, base_url: String) -> Result<(), String> {
    let store = Store::open(&db.url(), 2).map_err(|e| e.to_string())?;
    ensure_index(&store)?;
    let settings = Settings::for_base(&base_url);
    let report = bedside::import::import_paths(&store, &settings, &paths, true);
    report.print();
    if report.failed_files.is_empty() {
        Ok(())
    } else {
        Err(format!("{} file(s) could not be loaded", report.failed_files.len()))
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let settings = Settings::from_args(&args)?;
    if settings.dev_insecure_jwks_uri {
        tracing::warn!(
            "DEVELOPMENT MODE: --dev-insecure-jwks-uri lets client jwks_uri use plain http and loopback; never use \
             this in production"
        );
    }
    let url = args.db.url();
    let store = Store::open(&url, args.pool_size).map_err(|e| e.to_string())?;
    ensure_index(&store)?;
    if args.demo {
        tracing::warn!("DEMO MODE: demo sign-ins with published passwords and a public demo app are enabled");
        let summary = bedside::demo::seed::seed_demo(&store, &settings).map_err(|e| e.to_string())?;
        println!("{summary}");
    }
    let state = web::Data::new(AppState::new(store, settings.clone()).map_err(|e| e.to_string())?);
    tracing::info!(listen = %args.listen, fhir_base = %settings.fhir_base(), database = %redact(&url), "starting Bedside");
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let listen = args.listen.clone();
    let limit = state.rate_limit();
    let audit_state = state.clone();
    let result = actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let limit = limit.clone();
            App::new()
                .app_data(state.clone())
                .wrap(bedside::cors())
                .wrap(middleware::Compress::default())
                .configure(|cfg| bedside::configure(cfg, limit))
        })
        .workers(workers)
        .shutdown_timeout(30)
        .bind(&listen)
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?
        .run()
        .await
        .map_err(|e| e.to_string())
    });
    // In-flight requests are done: store the access records still queued. If the database refuses
    // them for 30 s, the writer gives them up when the state is dropped, counted and logged.
    if !audit_state.audit().flush_within(std::time::Duration::from_secs(30)) {
        tracing::error!("the access records still queued could not be stored before shutdown");
    }
    drop(audit_state);
    result
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
