//! `AccessContext`: who is asking and what they may see. It is an actix extractor, so a handler that
//! needs authorization cannot forget it; every store query for FHIR data takes one.
//!
//! Extraction verifies the bearer JWT and then checks, with one primary-key lookup, that the grant
//! the token was issued under is still active — so revocation takes effect on the next request on
//! every node.

use super::scopes::{Context, Interaction, ResourceScope, Scopes};
use crate::error::ApiError;

/// The refusal of an interaction the token's scopes do not cover (403: no existence information).
pub fn forbidden(res_type: &str, interaction: Interaction) -> ApiError {
    ApiError::Forbidden(format!(
        "the access token's scopes do not allow {} on {res_type}",
        match interaction {
            Interaction::Create => "create",
            Interaction::Read => "read",
            Interaction::Update => "update",
            Interaction::Delete => "delete",
            Interaction::Search => "search",
        }
    ))
}

#[derive(Debug, Clone)]
pub struct AccessContext {
    pub client_id: String,
    pub subject: String,
    pub fhir_user: Option<String>,
    /// The patient in the token's launch context.
    pub patient: Option<String>,
    pub encounter: Option<String>,
    pub scopes: Scopes,
    /// The grant the token belongs to (None for operator tokens).
    pub grant: Option<String>,
}

impl AccessContext {
    /// Checks the type-level permission; a type not granted is 403 (never an empty 200).
    ///
    /// A patient-bound scope (see [`AccessContext::scope_patient`]) does not count for the types that
    /// can hold a patient's data no parameter attributes (`fhir::compartment::UNATTRIBUTED_TYPES`: a
    /// stored Bundle, a Binary, …), as in `fhir::guard::reach`: for such a token they are forbidden
    /// whatever the id, so "someone else's" and "no such id" answer alike.
    pub fn require(&self, resource_type: &str, interaction: Interaction) -> Result<(), ApiError> {
        let unattributed =
            crate::fhir::compartment::decision(resource_type) == crate::fhir::compartment::Decision::Unattributed;
        let allowed = self.scopes.resources.iter().any(|r| {
            r.covers(resource_type, interaction)
                && (!unattributed || matches!(self.scope_patient(r), PatientLimit::Any))
        });
        if allowed {
            Ok(())
        } else {
            Err(forbidden(resource_type, interaction))
        }
    }

    /// The Patient id of the user, when the user is a patient (`fhirUser` = `Patient/…`).
    fn user_patient(&self) -> Option<&str> {
        let u = self.fhir_user.as_deref()?;
        let rel = u.rsplit_once("/Patient/").map(|(_, id)| id).or_else(|| u.strip_prefix("Patient/"))?;
        Some(rel)
    }

    /// Whose data one scope speaks for, in its own context: `patient/` scopes for the launch patient
    /// (whatever else the token holds), `user/` scopes for the user's own record when the user is a
    /// patient and for everyone otherwise, `system/` scopes for everyone.
    pub fn scope_patient(&self, scope: &ResourceScope) -> PatientLimit {
        match scope.context {
            Context::Patient => match self.patient.as_deref().or(self.user_patient()) {
                Some(p) => PatientLimit::Only(p.to_string()),
                None => PatientLimit::NoPatient,
            },
            Context::User => match self.user_patient() {
                Some(p) => PatientLimit::Only(p.to_string()),
                None => PatientLimit::Any,
            },
            Context::System => PatientLimit::Any,
        }
    }

    /// Is every resource scope limited to one patient? (Then the whole token speaks for that patient.)
    fn limited_to_patient(&self) -> bool {
        !self.scopes.resources.is_empty()
            && self.scopes.resources.iter().all(|r| !matches!(self.scope_patient(r), PatientLimit::Any))
    }

    /// The patient every scope of this token is limited to (None when any scope reaches further).
    /// The access log attributes such a token's requests to this patient. Access decisions are made
    /// per scope, see [`AccessContext::scope_patient`] and `fhir::guard`.
    pub fn compartment_patient(&self) -> Option<&str> {
        if self.limited_to_patient() {
            self.patient.as_deref().or(self.user_patient())
        } else {
            None
        }
    }

    /// The caller, as the access log keeps it.
    pub fn caller(&self) -> crate::audit::Caller {
        use crate::audit::relative_reference;
        crate::audit::Caller {
            client_id: self.client_id.clone(),
            grant_id: self.grant.clone(),
            fhir_user: self.fhir_user.as_deref().map(relative_reference),
            compartment_patient: self.compartment_patient().map(str::to_string),
            context_patient: self.patient.clone(),
        }
    }

    /// A patient-scoped token without a patient can see nothing patient-specific.
    pub fn check_consistent(&self) -> Result<(), ApiError> {
        if self.limited_to_patient() && self.compartment_patient().is_none() {
            return Err(ApiError::Forbidden("patient-level scopes need a patient in the token's context".into()));
        }
        Ok(())
    }
}

/// The patients one scope reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientLimit {
    /// Every patient (system scopes, a practitioner's user scopes).
    Any,
    /// One patient's compartment.
    Only(String),
    /// A patient scope without a patient in context: no patient's data at all.
    NoPatient,
}

impl AccessContext {
    /// Full access for trusted in-process callers (importer, demo seeding) — never built from a request.
    pub fn system(actor: &str) -> AccessContext {
        AccessContext {
            client_id: actor.to_string(),
            subject: actor.to_string(),
            fhir_user: None,
            patient: None,
            encounter: None,
            scopes: Scopes::parse("system/*.cruds").unwrap_or_default(),
            grant: None,
        }
    }
}
