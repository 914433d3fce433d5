//! Discovery: `/fhir/.well-known/smart-configuration`, OpenID Connect discovery at
//! `<issuer>/.well-known/openid-configuration` (the issuer is the FHIR base), and the `oauth-uris`
//! extension of the CapabilityStatement — all built from [`Endpoints`], so they always agree.

use serde_json::{json, Value};

use crate::config::Settings;

pub struct Endpoints {
    pub issuer: String,
    pub authorize: String,
    pub token: String,
    pub introspect: String,
    pub revoke: String,
    pub register: String,
    pub jwks: String,
    pub manage: String,
    pub style: String,
    pub launch: String,
}

impl Endpoints {
    pub fn of(settings: &Settings) -> Endpoints {
        let b = &settings.base_url;
        Endpoints {
            issuer: settings.fhir_base(),
            authorize: format!("{b}/auth/authorize"),
            token: settings.token_url(),
            introspect: format!("{b}/auth/introspect"),
            revoke: format!("{b}/auth/revoke"),
            register: format!("{b}/auth/register"),
            jwks: format!("{b}/.well-known/jwks.json"),
            manage: format!("{b}/auth/manage"),
            style: format!("{b}/smart/style.json"),
            launch: format!("{b}/smart/launch"),
        }
    }
}

pub const SCOPES_SUPPORTED: &[&str] = &[
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.read",
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.read",
    "user/*.rs",
    "user/*.cruds",
    "system/*.read",
    "system/*.rs",
    "system/*.cruds",
];

pub const AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post", "private_key_jwt"];

/// The SMART configuration document (SMART App Launch 2.x §2.0.6 / "well-known").
pub fn smart_configuration(settings: &Settings) -> Value {
    let e = Endpoints::of(settings);
    let mut v = json!({
        "issuer": e.issuer,
        "jwks_uri": e.jwks,
        "authorization_endpoint": e.authorize,
        "token_endpoint": e.token,
        "introspection_endpoint": e.introspect,
        "revocation_endpoint": e.revoke,
        "management_endpoint": e.manage,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-ehr", "launch-standalone", "authorize-post",
            "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
            "context-ehr-patient", "context-ehr-encounter", "context-standalone-patient",
            "context-banner", "context-style",
            "sso-openid-connect",
            "permission-offline", "permission-online", "permission-patient", "permission-user",
            "permission-v1", "permission-v2"
        ]
    });
    if settings.enable_dcr {
        v["registration_endpoint"] = json!(e.register);
    }
    v
}

/// OpenID Connect Discovery 1.0 metadata.
pub fn openid_configuration(settings: &Settings) -> Value {
    let e = Endpoints::of(settings);
    let mut v = json!({
        "issuer": e.issuer,
        "authorization_endpoint": e.authorize,
        "token_endpoint": e.token,
        "jwks_uri": e.jwks,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser", "profile", "offline_access"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser", "name"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": e.introspect,
        "revocation_endpoint": e.revoke,
    });
    if settings.enable_dcr {
        v["registration_endpoint"] = json!(e.register);
    }
    v
}

/// The `oauth-uris` extension for `CapabilityStatement.rest.security` (the same URIs as the
/// well-known file).
pub fn oauth_uris_extension(settings: &Settings) -> Value {
    let e = Endpoints::of(settings);
    let mut uris = vec![
        json!({"url": "token", "valueUri": e.token}),
        json!({"url": "authorize", "valueUri": e.authorize}),
        json!({"url": "introspect", "valueUri": e.introspect}),
        json!({"url": "revoke", "valueUri": e.revoke}),
        json!({"url": "manage", "valueUri": e.manage}),
    ];
    if settings.enable_dcr {
        uris.push(json!({"url": "register", "valueUri": e.register}));
    }
    json!({"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", "extension": uris})
}
