//! FHIR R4, the domain: resource types and their definitions, validation, formats, search (the
//! registry, FHIRPath, index extraction, the query engine), patient compartments, the access guard
//! and the service every read and write goes through, transactions, Bulk Data export, the AuditEvent
//! view of the access log, the CapabilityStatement. The REST handlers are in `handlers` (HTTP layer).

pub mod audit_event;
pub mod capability;
pub mod compartment;
pub mod export;
pub mod format;
pub mod guard;
pub mod handlers;
pub mod indexing;
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
