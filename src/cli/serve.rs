//! `bedside serve`: the HTTP server (actix-web), with the demo data set when `--demo`.

use actix_web::{middleware, web, App, HttpServer};

use super::data::ensure_index;
use super::CliError;
use crate::app::AppState;
use crate::config::{ServeArgs, Settings};
use crate::store::Store;

/// Runs the server until it is stopped (SIGINT/SIGTERM), then stores the access records still queued.
pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    let mut settings = Settings::from_args(&args)?;
    settings.dcr_scopes = crate::smart::clients::check_dcr_scopes(&settings.dcr_scopes)?;
    if settings.dev_insecure_jwks_uri {
        tracing::warn!(
            "DEVELOPMENT MODE: --dev-insecure-jwks-uri lets client jwks_uri use plain http and loopback; never use \
             this in production"
        );
    }
    let url = args.db.url();
    let store = Store::open(&url, args.pool_size)?;
    ensure_index(&store)?;
    if args.demo {
        tracing::warn!("DEMO MODE: demo sign-ins with published passwords and a public demo app are enabled");
        let summary = crate::demo::seed::seed_demo(&store, &settings)?;
        println!("{summary}");
    }
    let state = web::Data::new(AppState::new(store, settings.clone())?);
    tracing::info!(listen = %args.listen, fhir_base = %settings.fhir_base(), database = %redact(&url), "starting Bedside");
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let listen = args.listen.clone();
    let limit = crate::server::rate_limit(&state);
    let audit_state = state.clone();
    let result = actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let limit = limit.clone();
            App::new()
                .app_data(state.clone())
                .wrap(crate::server::cors())
                .wrap(middleware::Compress::default())
                .configure(|cfg| crate::server::configure(cfg, limit))
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
    result.map_err(CliError::Failed)
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
