//! SMART-on-FHIR, the domain: who may see what. Scopes, the `AccessContext` every FHIR request goes
//! through, grants and their terms, tokens and signing keys, registered apps, sign-in users and EHR
//! launch contexts. Its HTTP endpoints are in `endpoints`; the sign-in, consent and connected-apps
//! pages in `crate::web`.
//!
//! | module          | concept                                                          |
//! |-----------------|------------------------------------------------------------------|
//! | `access`        | `AccessContext`: the token's client, user, patient and scopes      |
//! | `scopes`        | SMART v1/v2 scope parsing, granular filters                      |
//! | `grant`         | which scopes are granted, and until when                         |
//! | `token`, `token_cache`, `keys`, `rsa_key` | signed access and id tokens; the server's keys |
//! | `assertion`, `jwks_uri` | private_key_jwt client assertions; fetching a client's keys safely |
//! | `clients`, `users`, `launch` | registration of apps, logins, EHR launch contexts   |
//! | `discovery`     | smart-configuration, openid-configuration, CapabilityStatement URIs |
//! | `secrets`, `oauth_error` | random values and hashes; OAuth error responses          |
//! | `endpoints`     | HTTP: `/auth/token`, introspection, revocation, registration, launch, the bearer extractor |

pub mod access;
pub mod assertion;
pub mod clients;
pub mod discovery;
pub mod endpoints;
pub mod grant;
pub mod jwks_uri;
pub mod keys;
pub mod launch;
pub mod oauth_error;
pub mod rsa_key;
pub mod scopes;
pub mod secrets;
pub mod token;
pub mod token_cache;
pub mod users;
