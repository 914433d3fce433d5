//! The `bedside` binary: sets up logging and runs the command line (`bedside::cli`).

use std::process::ExitCode;

use clap::Parser;

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
    match bedside::cli::run(bedside::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
