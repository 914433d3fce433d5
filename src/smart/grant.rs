//! Grants: which requested scopes can be granted, and the token response a grant produces
//! (shared by the authorization_code, refresh_token and client_credentials grant types).

use serde::{Deserialize, Serialize};

use super::scopes::{parse_resource_scope, Context, Scopes};
pub use crate::config::AccessTerm;
use crate::fhir::search::registry::Registry;
use crate::store::auth::ClientRow;

/// Life of refresh tokens: `offline_access` until revoked (renewed on every use), `online_access`
/// for a working day.
pub const OFFLINE_SECS: i64 = 90 * 24 * 3600;
pub const ONLINE_SECS: i64 = 12 * 3600;

/// Non-resource scopes this server understands; others are dropped from a grant.
pub const OTHER_SCOPES: &[&str] = &[
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
];

/// Launch-context extras kept with a grant (returned in every token response of the grant).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GrantContext {
    pub need_patient_banner: bool,
    #[serde(default)]
    pub smart_style_url: Option<String>,
    #[serde(default)]
    pub intent: Option<String>,
}

/// Is `scope` (one scope) within the space-separated set `allowed`? A resource scope is within a
/// registered one that covers it (`patient/Observation.rs` within `patient/*.cruds`); any other scope
/// must be listed as is. An empty set allows nothing.
pub fn scope_within(scope: &str, allowed: &str) -> bool {
    let allowed: Vec<&str> = allowed.split_whitespace().collect();
    if allowed.contains(&scope) {
        return true;
    }
    match parse_resource_scope(scope) {
        Ok(Some(r)) => allowed.iter().any(|a| matches!(parse_resource_scope(a), Ok(Some(ar)) if r.within(&ar))),
        _ => false,
    }
}

/// Is `scope` (one scope) within what the client was registered for?
pub fn client_allows(client: &ClientRow, scope: &str) -> bool {
    scope_within(scope, &client.scope)
}

/// `scope` without what the client is (no longer) registered for: tokens are narrowed to the
/// client's registration at every grant type, as RFC 6749 §3.3 lets a server do (the token
/// response's `scope` says what was granted).
pub fn narrow_to_client(scope: &str, client: &ClientRow) -> String {
    scope.split_whitespace().filter(|s| client_allows(client, s)).collect::<Vec<_>>().join(" ")
}

/// Checks one resource scope's granular filter against the search parameters of its type.
pub fn check_filter(scope: &str) -> Result<(), String> {
    let Ok(Some(r)) = parse_resource_scope(scope) else { return Ok(()) };
    for (param, _) in &r.filter {
        if r.resource_type == "*" {
            return Err(format!("scope {scope:?}: a filter needs a resource type"));
        }
        if Registry::global().get(&r.resource_type, param).is_none() {
            return Err(format!("scope {scope:?}: {param} is not a search parameter of {}", r.resource_type));
        }
    }
    Ok(())
}

/// The scopes of a user authorization request that can be granted, in request order. Malformed
/// scopes are an error (`invalid_scope`); `system/` scopes, unknown scopes and scopes the client
/// was not registered for are left out.
pub fn grantable_for_user(requested: &str, client: &ClientRow) -> Result<Vec<String>, String> {
    Scopes::parse(requested)?;
    // Anything but a valid `ongoing` is treated as one-time here (no refresh token); a corrupt value
    // stops the flow where the grant's end is computed (`AccessTerm::from_stored`).
    let one_time = !matches!(AccessTerm::from_stored(&client.access_term), Ok(AccessTerm::Ongoing));
    let mut out: Vec<String> = Vec::new();
    for s in requested.split_whitespace() {
        check_filter(s)?;
        if one_time && (s == "offline_access" || s == "online_access") {
            // A one-time app's access ends within hours: it never gets a refresh token.
            continue;
        }
        let keep = match parse_resource_scope(s)? {
            Some(r) => r.context != Context::System,
            None => OTHER_SCOPES.contains(&s),
        };
        if keep && client_allows(client, s) && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

/// Is every scope of `asked` within `granted` (for refresh: never more than was approved)?
pub fn is_subset(asked: &str, granted: &str) -> bool {
    let granted_list: Vec<&str> = granted.split_whitespace().collect();
    asked.split_whitespace().all(|a| {
        granted_list.contains(&a)
            || match parse_resource_scope(a) {
                Ok(Some(r)) => {
                    granted_list.iter().any(|g| matches!(parse_resource_scope(g), Ok(Some(gr)) if r.within(&gr)))
                }
                _ => false,
            }
    })
}

pub fn has(scope: &str, s: &str) -> bool {
    scope.split_whitespace().any(|x| x == s)
}

/// When a grant approved at `now` with `scope` ends: the app's access term for `offline_access`; a
/// working day at most for `online_access`; otherwise the access token's life (plus the code's).
pub fn grant_end(scope: &str, term: AccessTerm, now: i64, settings: &crate::config::Settings, code_secs: i64) -> i64 {
    let term_end = term.end(now, &settings.grant_terms);
    let without_refresh = now + i64::try_from(settings.token_lifetime).unwrap_or(i64::MAX / 4) + code_secs;
    let end = if has(scope, "offline_access") {
        term_end
    } else if has(scope, "online_access") {
        now + ONLINE_SECS
    } else {
        without_refresh
    };
    end.min(term_end)
}

/// Does this grant come with a refresh token, and for how long?
pub fn refresh_lifetime(scope: &str) -> Option<i64> {
    if has(scope, "offline_access") {
        Some(OFFLINE_SECS)
    } else if has(scope, "online_access") {
        Some(ONLINE_SECS)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scope: &str) -> ClientRow {
        ClientRow {
            client_id: "c".into(),
            name: "n".into(),
            client_type: "public".into(),
            secret_hash: None,
            jwks: None,
            jwks_uri: None,
            redirect_uris: "[]".into(),
            scope: scope.into(),
            created_at: 0,
            access_term: "ongoing".into(),
        }
    }

    #[test]
    fn access_terms() {
        let terms = crate::config::GrantTerms::default();
        // 2026-01-31 12:00 UTC + 13 months = 2027-02-28 12:00 UTC (the day clamped).
        let jan31 = 1_769_860_800;
        assert_eq!(AccessTerm::Ongoing.end(jan31, &terms), 1_803_816_000);
        assert_eq!(AccessTerm::OneTime.end(jan31, &terms), jan31 + 10 * 3600);
        assert_eq!(AccessTerm::from_stored("ongoing").ok(), Some(AccessTerm::Ongoing));
        assert_eq!(AccessTerm::from_stored("one-time").ok(), Some(AccessTerm::OneTime));
        assert!(matches!(AccessTerm::from_stored("nonsense"), Err(crate::store::StoreError::Corrupt(_))));
        let settings = crate::config::Settings::for_base("http://x");
        let now = jan31;
        assert_eq!(grant_end("patient/*.rs offline_access", AccessTerm::Ongoing, now, &settings, 60), 1_803_816_000);
        assert_eq!(grant_end("patient/*.rs offline_access", AccessTerm::OneTime, now, &settings, 60), now + 36_000);
        assert_eq!(grant_end("patient/*.rs online_access", AccessTerm::Ongoing, now, &settings, 60), now + ONLINE_SECS);
        assert_eq!(grant_end("patient/*.rs", AccessTerm::Ongoing, now, &settings, 60), now + 3600 + 60);
        let one_time =
            ClientRow { access_term: "one-time".into(), ..client("patient/*.rs openid offline_access online_access") };
        assert_eq!(
            grantable_for_user("patient/*.rs offline_access online_access openid", &one_time).unwrap(),
            ["patient/*.rs", "openid"]
        );
    }

    #[test]
    fn refresh_scope_must_stay_within_the_grant() {
        let granted = "launch/patient patient/*.rs offline_access";
        assert!(is_subset("patient/Observation.rs", granted));
        assert!(is_subset("patient/Observation.read launch/patient", granted));
        assert!(!is_subset("patient/Observation.cruds", granted));
        assert!(!is_subset("user/Observation.rs", granted));
        assert!(!is_subset("openid", granted));
    }

    #[test]
    fn user_requests_drop_system_unknown_and_unregistered_scopes() {
        let any = client("patient/*.cruds user/*.cruds system/*.cruds openid launch/patient");
        assert_eq!(
            grantable_for_user("openid system/*.rs patient/Patient.rs made-up launch/patient", &any).unwrap(),
            ["openid", "patient/Patient.rs", "launch/patient"]
        );
        // An empty registration allows nothing (it used to mean "anything").
        assert!(grantable_for_user("openid patient/Patient.rs", &client("")).unwrap().is_empty());
        let limited = client("patient/Observation.rs launch/patient");
        assert_eq!(
            grantable_for_user("patient/Observation.read patient/Patient.rs launch/patient", &limited).unwrap(),
            ["patient/Observation.read", "launch/patient"]
        );
        assert_eq!(
            narrow_to_client("patient/Patient.rs patient/Observation.rs launch/patient openid", &limited),
            "patient/Observation.rs launch/patient"
        );
        assert!(grantable_for_user("patient/Observation.rs?nope=1", &any).is_err());
        assert!(grantable_for_user("patient/*.rs?category=x", &any).is_err());
    }
}
