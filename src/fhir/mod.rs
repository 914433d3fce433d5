//! FHIR R4 REST: interactions, bundles, search, formats.

pub mod capability;
pub mod compartment;
pub mod export;
pub mod format;
pub mod guard;
pub mod handlers;
pub mod indexing;
pub mod instant;
pub mod paging;
pub mod patch;
pub mod record;
pub mod required;
pub mod resource;
pub mod search;
pub mod service;
pub mod transaction;
pub mod types;
pub mod us_core;
pub mod validate;

use actix_web::{web, HttpResponse};

use handlers::{bundle, history, metadata, read, search as search_h, write};

async fn unsupported_method() -> Result<HttpResponse, crate::error::ApiError> {
    Err(crate::error::ApiError::MethodNotAllowed("this HTTP method is not supported on this URL".into()))
}

/// The route table under `/fhir`. Literal segments (`metadata`, `_history`, `_search`) come before the
/// `{type}/{id}` catch-alls, since actix matches the first route that fits.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            .wrap_fn(crate::audit::capture::record)
            // Patient data must not stay in browser or proxy caches (metadata sets its own header).
            .wrap(
                actix_web::middleware::DefaultHeaders::new().add((actix_web::http::header::CACHE_CONTROL, "no-store")),
            )
            .route("/metadata", web::get().to(metadata::metadata))
            .route("", web::post().to(bundle::process))
            .route("/", web::post().to(bundle::process))
            .route("", web::get().to(search_h::search_system))
            .route("/", web::get().to(search_h::search_system))
            .route("/_history", web::get().to(history::system))
            .configure(handlers::export::routes)
            .route("/Patient/{id}/$everything", web::get().to(handlers::everything::patient_everything))
            .route("/DocumentReference/$docref", web::get().to(handlers::docref::docref_get))
            .route("/DocumentReference/$docref", web::post().to(handlers::docref::docref_post))
            .configure(crate::audit::search::routes)
            .route("/{type}/_search", web::post().to(search_h::search_post))
            .route("/{type}/_history", web::get().to(history::of_type))
            .route("/{type}/{id}/_history", web::get().to(history::instance))
            .route("/{type}/{id}/_history/{vid}", web::get().to(read::vread))
            .service(
                web::resource("/{type}")
                    .route(web::get().to(search_h::search_get))
                    .route(web::post().to(write::create))
                    .route(web::put().to(write::conditional_update))
                    .default_service(web::to(unsupported_method)),
            )
            .service(
                web::resource("/{type}/{id}")
                    .route(web::get().to(read::read))
                    .route(web::put().to(write::update))
                    .route(web::patch().to(write::patch))
                    .route(web::delete().to(write::delete))
                    .default_service(web::to(unsupported_method)),
            ),
    );
}
