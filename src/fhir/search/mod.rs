//! FHIR search: the search-parameter registry (from the official R4 definitions in `conformance/`), a
//! FHIRPath-subset evaluator, the index rows extracted from a resource at write time, and query parsing.

pub mod dates;
pub mod engine;
pub mod extract;
pub mod fhirpath;
pub mod memory;
pub mod query;
pub mod registry;
pub mod spec;
