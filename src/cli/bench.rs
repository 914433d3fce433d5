//! `bedside bench` (search benchmarks) and `bedside bench load` (the HTTP load benchmark).

use clap::Subcommand;

use super::CliError;

#[derive(Subcommand)]
pub enum BenchMode {
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

pub fn bench(
    data: std::path::PathBuf,
    patients: usize,
    database_url: Option<String>,
    repeat: usize,
) -> Result<(), CliError> {
    let dir = std::env::temp_dir().join(format!("bedside-bench-{}", std::process::id()));
    let url = database_url.unwrap_or_else(|| dir.join("bench.db").to_string_lossy().into_owned());
    let result =
        crate::bench::run(&crate::bench::BenchArgs { data, patients, database_url: url, repeat: repeat.max(1) });
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", result?);
    Ok(())
}

pub fn bench_load(mode: BenchMode) -> Result<(), CliError> {
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
    let args = crate::bench::load::LoadArgs {
        data,
        resources: crate::bench::dataset::parse_size(&resources)?,
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
    let report = crate::bench::load::run(&args)?;
    println!("{}", crate::bench::load::table(&report));
    Ok(())
}
