//! What a token may see and change, decided on the data (DESIGN §7). Every FHIR interaction goes
//! through `fhir::service` (or the search engine it runs), and they ask only this module:
//!
//! - [`reach`]: the ways a token reaches one resource type for one interaction — one per scope that
//!   covers it, each in its own context (a `patient/` scope stays bound to the launch patient whatever
//!   else the token holds) with its granular filter;
//! - [`restrict`]: the same as search conditions added to a query, including every chain and `_has`
//!   subquery (a patient-bound search never filters by another patient's data), so paging, counts
//!   and `_total` only ever see what the token may see;
//! - [`admits`]: the same, in memory, for one version's index rows (vread, history, includes of old
//!   versions) and [`admits_write`] for a version about to be written.
//!
//! A patient's compartment is every resource that names the patient in a patient-typed reference
//! search parameter (R4's CompartmentDefinition plus those, see `Registry::patient_compartment_params`).
//! Types with no such parameter (Practitioner, Organization, Location, Medication, …) are shared data:
//! readable with any scope for the type, but never changed through a patient-bound scope — except the
//! few that can hold a patient's data no parameter attributes (`compartment::UNATTRIBUTED_TYPES`: a
//! stored Bundle or Binary, messages, …), which a patient-bound scope does not reach at all.

use super::compartment::{decision, is_compartment_type, Decision};
use super::search::memory;
use super::search::query::parse_param;
use crate::error::ApiError;
use crate::smart::access::{forbidden, AccessContext, PatientLimit};
use crate::smart::scopes::Interaction;
use crate::store::index::IndexRows;
use crate::store::search::{Condition, Query};

/// One way a token reaches a resource type: one scope's patient limit and granular filter.
#[derive(Debug, Clone)]
pub struct Reach {
    /// Only resources in this patient's compartment (compartment types only).
    pub patient: Option<String>,
    /// The scope speaks for one patient (a `patient/` scope, or a patient user's `user/` scope),
    /// whatever the type.
    pub patient_bound: bool,
    /// The scope's granular filter (AND-ed groups of OR-ed conditions).
    pub filter: Vec<Vec<Condition>>,
}

impl Reach {
    /// Reaches every resource of the type (no patient limit, no filter).
    pub fn unlimited(&self) -> bool {
        self.patient.is_none() && self.filter.is_empty()
    }
}

/// The ways `access` reaches `res_type` for `interaction` (empty: not at all).
pub fn reach(access: &AccessContext, res_type: &str, interaction: Interaction) -> Result<Vec<Reach>, ApiError> {
    let compartment_type = is_compartment_type(res_type);
    let mut out = Vec::new();
    for scope in access.scopes.resources.iter().filter(|r| r.covers(res_type, interaction)) {
        let limit = access.scope_patient(scope);
        let patient = match (&limit, compartment_type) {
            (PatientLimit::Only(p), true) => Some(p.clone()),
            // A patient scope without a patient reaches no patient's data.
            (PatientLimit::NoPatient, true) => continue,
            // Data no parameter attributes to a patient (a stored Bundle, a Binary, …): not through a
            // patient-bound scope, which could otherwise read other patients' documents.
            (PatientLimit::Only(_) | PatientLimit::NoPatient, false)
                if decision(res_type) == Decision::Unattributed =>
            {
                continue
            }
            _ => None,
        };
        let mut filter = Vec::with_capacity(scope.filter.len());
        for (name, value) in &scope.filter {
            let conditions = parse_param(res_type, name, value)
                .map_err(|e| ApiError::Forbidden(format!("the granted scope {} cannot be applied: {e}", scope.text)))?;
            // A filter that looks into other resources would answer from data outside the grant.
            if conditions.iter().any(|c| matches!(c, Condition::Chain { .. } | Condition::Has { .. })) {
                return Err(ApiError::Forbidden(format!(
                    "the granted scope {} filters through a chain or _has, which Bedside does not apply",
                    scope.text
                )));
            }
            filter.push(conditions);
        }
        out.push(Reach { patient, patient_bound: !matches!(limit, PatientLimit::Any), filter });
    }
    Ok(out)
}

/// The conditions that limit a query over `res_type` to what `reaches` admit (empty: no limit).
fn groups_for(reaches: &[Reach]) -> Vec<Vec<Condition>> {
    if reaches.iter().any(Reach::unlimited) {
        return Vec::new();
    }
    let one = |r: &Reach| {
        let mut groups = Vec::with_capacity(r.filter.len() + 1);
        if let Some(p) = &r.patient {
            groups.push(vec![Condition::Compartment(p.clone())]);
        }
        groups.extend(r.filter.iter().cloned());
        groups
    };
    match reaches {
        [r] => one(r),
        many => vec![many.iter().map(|r| Condition::All(one(r))).collect()],
    }
}

/// Limits `q` to what the token may see: each searched type's reach, and — recursively — the reach
/// of every type a chain or `_has` looks into (403 when the token may not search that type at all).
pub fn restrict(q: &mut Query, access: &AccessContext, interaction: Interaction) -> Result<(), ApiError> {
    for group in q.all_of.iter_mut() {
        for c in group.iter_mut() {
            secure_subqueries(c, access)?;
        }
    }
    match q.res_types.clone().as_slice() {
        [one] => {
            let reaches = reach(access, one, interaction)?;
            if reaches.is_empty() {
                return Err(forbidden(one, interaction));
            }
            q.all_of.extend(groups_for(&reaches));
        }
        many => {
            for t in many {
                let reaches = reach(access, t, interaction)?;
                if reaches.is_empty() {
                    return Err(forbidden(t, interaction));
                }
                let groups = groups_for(&reaches);
                if !groups.is_empty() {
                    q.all_of.push(vec![Condition::OnlyFor { res_type: t.clone(), all_of: groups }]);
                }
            }
        }
    }
    Ok(())
}

/// Adds the token's reach to the inner query of every chain and `_has` inside `c`.
fn secure_subqueries(c: &mut Condition, access: &AccessContext) -> Result<(), ApiError> {
    let (inner_type, inner) = match c {
        Condition::Chain { target_type, inner, .. } => (target_type.clone(), inner),
        Condition::Has { source_type, inner, .. } => (source_type.clone(), inner),
        Condition::All(all_of) | Condition::OnlyFor { all_of, .. } => {
            for g in all_of.iter_mut() {
                for c in g.iter_mut() {
                    secure_subqueries(c, access)?;
                }
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    for g in inner.iter_mut() {
        for c in g.iter_mut() {
            secure_subqueries(c, access)?;
        }
    }
    let reaches = reach(access, &inner_type, Interaction::Search)?;
    if reaches.is_empty() {
        return Err(ApiError::Forbidden(format!(
            "the access token's scopes do not allow searching {inner_type}, which this chain or _has looks into"
        )));
    }
    inner.extend(groups_for(&reaches));
    Ok(())
}

/// Does the token admit this version of `res_type/id` (with these index rows) for `interaction`?
pub fn admits(
    access: &AccessContext,
    res_type: &str,
    id: &str,
    rows: &IndexRows,
    interaction: Interaction,
) -> Result<bool, ApiError> {
    let reaches = reach(access, res_type, interaction)?;
    Ok(reaches.iter().any(|r| {
        r.patient.as_ref().is_none_or(|p| rows.compartment.iter().any(|x| x == p))
            && memory::matches_all(res_type, id, rows, &r.filter)
    }))
}

/// May the token write this new version of `res_type/id`? Through a patient-bound scope only when
/// every patient the new content names (in any patient-typed reference) is that scope's patient and
/// no stored version of the id (`past`: the patients of every stored version) named anyone else; and
/// never to change shared types (everyone's reference data), only to add to them.
pub fn admits_write(
    access: &AccessContext,
    res_type: &str,
    id: &str,
    rows: &IndexRows,
    past: &[String],
    interaction: Interaction,
) -> Result<bool, ApiError> {
    let reaches = reach(access, res_type, interaction)?;
    let compartment_type = is_compartment_type(res_type);
    Ok(reaches.iter().any(|r| {
        let inside = match (&r.patient, r.patient_bound) {
            (Some(p), _) => {
                !rows.compartment.is_empty() && rows.compartment.iter().all(|x| x == p) && past.iter().all(|x| x == p)
            }
            (None, true) => !compartment_type && interaction == Interaction::Create,
            (None, false) => true,
        };
        inside && memory::matches_all(res_type, id, rows, &r.filter)
    }))
}

/// May the token delete a resource it sees, whose compartment is `rows.compartment`? Through a
/// patient-bound scope only when the resource is that patient's alone, never shared data. (Granular
/// filters were applied when the resource was found.)
pub fn admits_delete(access: &AccessContext, res_type: &str, rows: &IndexRows) -> Result<bool, ApiError> {
    let reaches = reach(access, res_type, Interaction::Delete)?;
    Ok(reaches.iter().any(|r| match (&r.patient, r.patient_bound) {
        (Some(p), _) => !rows.compartment.is_empty() && rows.compartment.iter().all(|x| x == p),
        (None, bound) => !bound,
    }))
}

/// Is every way the token reaches `res_type` for `interaction` bound to one patient? Such tokens
/// behave as if other patients did not exist (and create only with server-assigned ids).
pub fn patient_bound(access: &AccessContext, res_type: &str, interaction: Interaction) -> Result<bool, ApiError> {
    let reaches = reach(access, res_type, interaction)?;
    Ok(!reaches.is_empty() && reaches.iter().all(|r| r.patient_bound))
}

/// The one patient every way of reaching `res_type` is limited to, if so (for data kept outside the
/// resource tables, such as the access log served as AuditEvent). `Ok(None)`: not limited.
pub fn only_patient(
    access: &AccessContext,
    res_type: &str,
    interaction: Interaction,
) -> Result<Option<String>, ApiError> {
    let reaches = reach(access, res_type, interaction)?;
    if reaches.is_empty() {
        return Err(forbidden(res_type, interaction));
    }
    if reaches.iter().any(|r| r.patient.is_none()) {
        return Ok(None);
    }
    let first = reaches.first().and_then(|r| r.patient.clone());
    if reaches.iter().all(|r| r.patient == first) {
        Ok(first)
    } else {
        Err(ApiError::Forbidden("the access token's scopes name several patients".into()))
    }
}
