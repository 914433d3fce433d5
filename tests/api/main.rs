#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bedside's integration tests: one binary, files mirror the API. Every test starts the real app on
//! its own fresh database (SQLite by default; PostgreSQL when BEDSIDE_TEST_POSTGRES is set).

mod audit;
mod audit_durability;
mod auth;
mod bench;
mod bulk_export;
mod bundles;
mod crud;
mod examples;
mod formats;
mod import;
mod keys;
mod metadata;
mod operator;
mod provenance;
mod sample_app;
mod search;
mod security;
mod security_limits;
mod security_smart;
mod smart;
mod smart_authorize_errors;
mod smart_backend;
mod smart_backend_errors;
mod smart_flows;
mod smart_manage;
mod smart_support;
mod smart_token_errors;
mod support;
mod us_core;
mod validation;
