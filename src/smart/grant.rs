//! Grants: which requested scopes can be granted, and the token response a grant produces
//! (shared by the authorization_code, refresh_token and client_credentials grant types).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::oauth_error::OAuthError;
use super::scopes::{parse_resource_scope, Context, Scopes};
use super::{secrets, token};
use crate::fhir::search::registry::Registry;
use crate::store::auth::{self as rows, ClientRow, GrantRow, RefreshRow};
use crate::store::AnyConnection;
use crate::AppState;

/// Life of refresh tokens: `offline_access` until revoked (renewed on every use), `online_access`
/// for a working day.
pub const OFFLINE_SECS: i64 = 90 * 24 * 3600;
pub const ONLINE_SECS: i64 = 12 * 3600;

/// How long a user's approval of an app lasts, by the app's registered category (as CMS Blue
/// Button 2.0 does): a `one-time` app gets hours and no refresh token, an `ongoing` app months. The
/// end is fixed at approval and never slides; an ended grant makes the app ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum AccessTerm {
    /// Access for a few hours (`--one-time-hours`, 10 by default); no refresh token.
    OneTime,
    /// Access for months (`--ongoing-months`, 13 by default), renewed with refresh tokens until then.
    #[default]
    Ongoing,
}

impl AccessTerm {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessTerm::OneTime => "one-time",
            AccessTerm::Ongoing => "ongoing",
        }
    }

    /// The stored value; a value this version does not know is read as the shorter term.
    pub fn from_stored(s: &str) -> AccessTerm {
        if s == "ongoing" {
            AccessTerm::Ongoing
        } else {
            AccessTerm::OneTime
        }
    }

    /// When an approval given at `now` (Unix seconds) ends.
    pub fn end(self, now: i64, terms: &crate::config::GrantTerms) -> i64 {
        match self {
            AccessTerm::OneTime => now + i64::from(terms.one_time_hours) * 3600,
            AccessTerm::Ongoing => add_months(now, terms.ongoing_months),
        }
    }
}

/// `now` plus whole calendar months (the day clamped to the month's length: 31 Jan + 1 = 28/29 Feb).
fn add_months(now: i64, months: u32) -> i64 {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(now) else { return now };
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + i64::from(months);
    let (Ok(year), Ok(month_index)) = (i32::try_from(total.div_euclid(12)), u8::try_from(total.rem_euclid(12) + 1))
    else {
        return now;
    };
    let Ok(month) = time::Month::try_from(month_index) else { return now };
    let day = t.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(d) => t.replace_date(d).unix_timestamp(),
        Err(_) => now,
    }
}

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
    let one_time = AccessTerm::from_stored(&client.access_term) == AccessTerm::OneTime;
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

fn has(scope: &str, s: &str) -> bool {
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

/// Issues an access token for `grant` with `scope` (⊆ the grant's scope) and builds the token
/// response. With `refresh`, a new refresh token is stored (hashed) for the grant's full scope.
pub fn token_response(
    conn: &mut AnyConnection,
    state: &AppState,
    grant: &GrantRow,
    scope: &str,
    refresh: bool,
    id_token: bool,
) -> Result<Value, OAuthError> {
    let settings = &state.settings;
    // An access token never outlives the grant it comes from.
    let left = u64::try_from(grant.expires_at - token::now_secs() as i64).unwrap_or(0);
    let lifetime = settings.token_lifetime.min(left.max(1));
    let keys = state.keys.current();
    let (access, _) = token::issue(
        &keys,
        &settings.fhir_base(),
        &token::TokenRequest {
            subject: grant.username.clone().unwrap_or_else(|| grant.client_id.clone()),
            client_id: grant.client_id.clone(),
            scope: scope.to_string(),
            patient: grant.patient.clone(),
            encounter: grant.encounter.clone(),
            fhir_user: grant.fhir_user.clone(),
            grant: Some(grant.grant_id.clone()),
            lifetime_secs: lifetime,
        },
    )
    .map_err(OAuthError::server_error)?;
    let mut v = json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": scope});
    if refresh {
        if let Some(life) = refresh_lifetime(&grant.scope) {
            let rt = secrets::random_token();
            let expires_at = (token::now_secs() as i64 + life).min(grant.expires_at);
            rows::insert_refresh(
                conn,
                &RefreshRow {
                    token_hash: secrets::hash_token(&rt),
                    grant_id: grant.grant_id.clone(),
                    client_id: grant.client_id.clone(),
                    scope: grant.scope.clone(),
                    used: false,
                    expires_at,
                },
            )?;
            v["refresh_token"] = json!(rt);
        }
    }
    if id_token && has(scope, "openid") {
        if let (Some(user), Some(fhir_user)) = (&grant.username, &grant.fhir_user) {
            let fhir_user_url = has(scope, "fhirUser").then(|| format!("{}/{fhir_user}", settings.fhir_base()));
            let name = if has(scope, "profile") { super::users::name_of(conn, fhir_user)? } else { None };
            let t = token::issue_id_token(
                &keys,
                &settings.fhir_base(),
                &grant.client_id,
                user,
                fhir_user_url,
                grant.nonce.clone(),
                name,
            )
            .map_err(OAuthError::server_error)?;
            v["id_token"] = json!(t);
        }
    }
    if let Some(p) = &grant.patient {
        v["patient"] = json!(p);
    }
    if let Some(e) = &grant.encounter {
        v["encounter"] = json!(e);
    }
    if grant.username.is_some() {
        let ctx: GrantContext = serde_json::from_str(&grant.context).unwrap_or_default();
        v["need_patient_banner"] = json!(ctx.need_patient_banner);
        v["smart_style_url"] =
            json!(ctx.smart_style_url.unwrap_or_else(|| format!("{}/smart/style.json", settings.base_url)));
        if let Some(i) = ctx.intent {
            v["intent"] = json!(i);
        }
    }
    Ok(v)
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
        assert_eq!(add_months(jan31, 0), jan31);
        assert_eq!(AccessTerm::from_stored("ongoing"), AccessTerm::Ongoing);
        assert_eq!(AccessTerm::from_stored("nonsense"), AccessTerm::OneTime);
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
