//! Bedside: a FHIR R4 patient-access API server with a built-in SMART-on-FHIR authorization server.
//!
//! The module tree is the architecture, in layers that import only downwards (`docs/architecture.md`,
//! checked by `tests/architecture.rs`): `clock`; `store` (diesel over SQLite or PostgreSQL); `config`
//! and `error`; `audit` (the access log); `smart` (scopes, the access context, grants, tokens); `fhir`
//! (resources, search, the access guard and service, export) with the importer, re-indexing and the
//! demo data set; then HTTP (`app` state, `http` middleware, `fhir::handlers`, `smart::endpoints`,
//! `web` pages); and on top `server` (the route table), `cli` and `bench`.

pub mod app;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod fhir;
pub mod http;
pub mod import;
pub mod reindex;
pub mod server;
pub mod smart;
pub mod store;
pub mod web;

pub use app::AppState;
pub use server::{configure, cors, rate_limit};
