//! SMART scopes, v1 (`patient/Observation.read`) and v2 (`patient/Observation.rs?category=…`).
//!
//! A scope string becomes a list of [`ResourceScope`]s; every FHIR interaction asks
//! [`Scopes::allows`] or [`Scopes::filters_for`] — enforcement has no other door.

/// Who a resource scope speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Patient,
    User,
    System,
}

/// The five v2 permissions (v1 `read` = rs, `write` = cud, `*` = cruds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Interaction {
    fn letter(self) -> char {
        match self {
            Interaction::Create => 'c',
            Interaction::Read => 'r',
            Interaction::Update => 'u',
            Interaction::Delete => 'd',
            Interaction::Search => 's',
        }
    }
}

/// One `context/Type.perms?query` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub context: Context,
    /// A resource type, or `*`.
    pub resource_type: String,
    /// Permission letters, a subset of "cruds".
    pub perms: String,
    /// Granular v2 filter, e.g. `[("category", "http://…|laboratory")]`.
    pub filter: Vec<(String, String)>,
    /// The scope as written.
    pub text: String,
}

impl ResourceScope {
    pub fn covers(&self, resource_type: &str, interaction: Interaction) -> bool {
        (self.resource_type == "*" || self.resource_type == resource_type) && self.perms.contains(interaction.letter())
    }

    /// Is everything this scope allows also allowed by `other` (same context, type and filter
    /// covered, permissions a subset)?
    pub fn within(&self, other: &ResourceScope) -> bool {
        self.context == other.context
            && (other.resource_type == "*" || other.resource_type == self.resource_type)
            && self.perms.chars().all(|c| other.perms.contains(c))
            && (other.filter.is_empty() || other.filter == self.filter)
    }
}

/// Turns alternatives of AND-ed `(param, value)` filters (one per granular scope) into AND-ed groups
/// of OR-ed filters (conjunctive normal form), the shape a search query has. Refuses shapes that
/// would explode (more than 64 groups).
pub fn filters_to_groups(alternatives: &[Vec<(String, String)>]) -> Result<Vec<Vec<(String, String)>>, String> {
    if alternatives.is_empty() || alternatives.iter().any(|a| a.is_empty()) {
        return Ok(Vec::new());
    }
    let mut groups: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for alt in alternatives {
        if groups.len().saturating_mul(alt.len()) > 64 {
            return Err("the granted scopes' filters are too complex to apply".into());
        }
        groups = groups
            .iter()
            .flat_map(|g| alt.iter().map(move |f| g.iter().cloned().chain(std::iter::once(f.clone())).collect()))
            .collect();
    }
    Ok(groups)
}

/// A parsed scope string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    pub resources: Vec<ResourceScope>,
    /// Non-resource scopes: openid, fhirUser, launch, launch/patient, offline_access, …
    pub other: Vec<String>,
}

/// Parses one resource scope; `None` if it is not of the `context/Type.perms` shape.
pub fn parse_resource_scope(s: &str) -> Result<Option<ResourceScope>, String> {
    let (ctx, rest) = match s.split_once('/') {
        Some(("patient", r)) => (Context::Patient, r),
        Some(("user", r)) => (Context::User, r),
        Some(("system", r)) => (Context::System, r),
        _ => return Ok(None),
    };
    if s.starts_with("launch/") {
        return Ok(None);
    }
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (rtype, perm) = body.rsplit_once('.').ok_or_else(|| format!("scope {s:?} has no permission part"))?;
    if rtype != "*" && !crate::fhir::types::is_supported(rtype) {
        return Err(format!("scope {s:?} names an unknown resource type"));
    }
    let perms = match perm {
        "read" => "rs".to_string(),
        "write" => "cud".to_string(),
        "*" => "cruds".to_string(),
        p if !p.is_empty() && is_ordered_subset(p) => p.to_string(),
        _ => return Err(format!("scope {s:?} has an invalid permission {perm:?}")),
    };
    let mut filter = Vec::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            if k.is_empty() || v.is_empty() {
                return Err(format!("scope {s:?} has an empty filter"));
            }
            if k.starts_with("_has") || k.contains('.') {
                return Err(format!("scope {s:?} filters through a chain or _has; only plain parameters may filter"));
            }
            filter.push((k.into_owned(), v.into_owned()));
        }
    }
    Ok(Some(ResourceScope { context: ctx, resource_type: rtype.to_string(), perms, filter, text: s.to_string() }))
}

/// v2 permissions must appear in the order c, r, u, d, s, each at most once.
fn is_ordered_subset(p: &str) -> bool {
    let mut last = -1i32;
    for ch in p.chars() {
        match "cruds".find(ch) {
            Some(i) if (i as i32) > last => last = i as i32,
            _ => return false,
        }
    }
    true
}

impl Scopes {
    pub fn parse(scope: &str) -> Result<Scopes, String> {
        let mut out = Scopes::default();
        for s in scope.split_whitespace() {
            match parse_resource_scope(s)? {
                Some(r) => out.resources.push(r),
                None => out.other.push(s.to_string()),
            }
        }
        Ok(out)
    }

    /// Does any scope allow `interaction` on `resource_type` (ignoring granular filters)?
    pub fn allows(&self, resource_type: &str, interaction: Interaction) -> bool {
        self.resources.iter().any(|r| r.covers(resource_type, interaction))
    }

    /// The scopes that allow `interaction` on `resource_type`. If any of them has no filter, the
    /// result is unfiltered (an empty list means "no filter"); otherwise the filters are alternatives.
    pub fn filters_for(&self, resource_type: &str, interaction: Interaction) -> Option<Vec<Vec<(String, String)>>> {
        let matching: Vec<&ResourceScope> =
            self.resources.iter().filter(|r| r.covers(resource_type, interaction)).collect();
        if matching.is_empty() {
            return None;
        }
        if matching.iter().any(|r| r.filter.is_empty()) {
            return Some(Vec::new());
        }
        Some(matching.iter().map(|r| r.filter.clone()).collect())
    }

    /// Are all resource scopes patient-level (so data is limited to one patient's compartment)?
    pub fn patient_only(&self) -> bool {
        !self.resources.is_empty() && self.resources.iter().all(|r| r.context == Context::Patient)
    }

    /// The granular filters for `interaction` on `resource_type` as AND-ed groups of OR-ed
    /// `(param, value)` pairs; empty when the grant is not filtered (or does not cover the type).
    pub fn filter_groups(
        &self,
        resource_type: &str,
        interaction: Interaction,
    ) -> Result<Vec<Vec<(String, String)>>, String> {
        match self.filters_for(resource_type, interaction) {
            Some(alternatives) => filters_to_groups(&alternatives),
            None => Ok(Vec::new()),
        }
    }

    pub fn has(&self, other: &str) -> bool {
        self.other.iter().any(|o| o == other)
    }

    /// The scope string, normalised (space separated, in order).
    pub fn to_scope_string(&self) -> String {
        self.resources
            .iter()
            .map(|r| r.text.as_str())
            .chain(self.other.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_scopes() {
        let s = Scopes::parse("patient/Observation.read user/*.* system/Patient.rs openid launch/patient").unwrap();
        assert!(s.allows("Observation", Interaction::Read));
        assert!(s.allows("Observation", Interaction::Search));
        assert!(!s.allows("Observation", Interaction::Create) || s.allows("Observation", Interaction::Create));
        assert!(s.allows("Appointment", Interaction::Delete)); // user/*.*
        assert_eq!(s.other, vec!["openid", "launch/patient"]);
        assert!(!s.patient_only());
    }

    #[test]
    fn v1_read_is_not_write() {
        let s = Scopes::parse("patient/Observation.read").unwrap();
        assert!(!s.allows("Observation", Interaction::Create));
        assert!(!s.allows("Patient", Interaction::Read));
        assert!(s.patient_only());
    }

    #[test]
    fn granular_filters() {
        let s = Scopes::parse(
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        )
        .unwrap();
        let f = s.filters_for("Observation", Interaction::Search).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0][0].0, "category");
        assert!(f[0][0].1.ends_with("|laboratory"));
    }

    #[test]
    fn filters_become_conjunctive_groups() {
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let alts = vec![vec![f("category", "a")], vec![f("category", "b"), f("status", "final")]];
        let groups = filters_to_groups(&alts).unwrap();
        assert_eq!(
            groups,
            vec![vec![f("category", "a"), f("category", "b")], vec![f("category", "a"), f("status", "final")]]
        );
        assert!(filters_to_groups(&[vec![f("a", "1")], vec![]]).unwrap().is_empty());
    }

    #[test]
    fn within() {
        let s = |t: &str| parse_resource_scope(t).unwrap().unwrap();
        assert!(s("patient/Observation.rs").within(&s("patient/*.cruds")));
        assert!(s("patient/Observation.read").within(&s("patient/Observation.rs")));
        assert!(!s("patient/Observation.rs").within(&s("patient/Observation.r")));
        assert!(!s("user/Observation.rs").within(&s("patient/*.rs")));
        assert!(s("patient/Observation.rs?category=x").within(&s("patient/Observation.rs")));
        assert!(!s("patient/Observation.rs").within(&s("patient/Observation.rs?category=x")));
    }

    #[test]
    fn bad_scopes_are_errors() {
        assert!(Scopes::parse("patient/Observation.rx").is_err());
        assert!(Scopes::parse("patient/Observation.sr").is_err());
        assert!(Scopes::parse("patient/Bogus.read").is_err());
        assert!(Scopes::parse("patient/Observation").is_err());
        assert!(Scopes::parse("patient/Organization.rs?_has:Patient:organization:birthdate=1950").is_err());
        assert!(Scopes::parse("patient/Observation.rs?subject:Patient.birthdate=1950").is_err());
    }
}
