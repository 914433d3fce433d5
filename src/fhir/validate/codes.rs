//! Required code sets of FHIR R4 (4.0.1) for `code`-typed elements, used by the validator.
//!
//! Only elements whose binding strength is REQUIRED in R4 are listed, keyed by the FHIR path of the
//! element (resource / datatype / backbone element path + element name, as in
//! `conformance/element-types.json`). Each set names the R4 ValueSet it comes from
//! (http://hl7.org/fhir/ValueSet/<id>, see hl7.org/fhir/R4/valueset-<id>.html).
//! CodeableConcept-typed elements with required bindings (e.g. Condition.clinicalStatus) are not
//! checked here.

/// A required value set: its R4 name and the codes it contains.
pub(super) struct CodeSet {
    pub name: &'static str,
    pub codes: &'static [&'static str],
}

macro_rules! code_set {
    ($ident:ident, $name:literal, [$($code:literal),+ $(,)?]) => {
        static $ident: CodeSet = CodeSet { name: $name, codes: &[$($code),+] };
    };
}

// ValueSet/administrative-gender
code_set! { ADMINISTRATIVE_GENDER, "AdministrativeGender", ["male", "female", "other", "unknown"] }
// ValueSet/observation-status
code_set! { OBSERVATION_STATUS, "ObservationStatus", [
    "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
    "unknown"
] }
// ValueSet/appointmentstatus
code_set! { APPOINTMENT_STATUS, "AppointmentStatus", [
    "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
    "entered-in-error", "checked-in", "waitlist"
] }
// ValueSet/participationstatus
code_set! { PARTICIPATION_STATUS, "ParticipationStatus", [
    "accepted", "declined", "tentative", "needs-action"
] }
// ValueSet/participantrequired
code_set! { PARTICIPANT_REQUIRED, "ParticipantRequired", [
    "required", "optional", "information-only"
] }
// ValueSet/request-status
code_set! { REQUEST_STATUS, "RequestStatus", [
    "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"
] }
// ValueSet/care-plan-intent
code_set! { CARE_PLAN_INTENT, "CarePlanIntent", ["proposal", "plan", "order", "option"] }
// ValueSet/care-plan-activity-status
code_set! { CARE_PLAN_ACTIVITY_STATUS, "CarePlanActivityStatus", [
    "not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled", "stopped",
    "unknown", "entered-in-error"
] }
// ValueSet/care-plan-activity-kind
code_set! { CARE_PLAN_ACTIVITY_KIND, "CarePlanActivityKind", [
    "Appointment", "CommunicationRequest", "DeviceRequest", "MedicationRequest", "NutritionOrder",
    "Task", "ServiceRequest", "VisionPrescription"
] }
// ValueSet/encounter-status
code_set! { ENCOUNTER_STATUS, "EncounterStatus", [
    "planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
    "entered-in-error", "unknown"
] }
// ValueSet/encounter-location-status
code_set! { ENCOUNTER_LOCATION_STATUS, "EncounterLocationStatus", [
    "planned", "active", "reserved", "completed"
] }
// ValueSet/goal-status
code_set! { GOAL_LIFECYCLE_STATUS, "GoalLifecycleStatus", [
    "proposed", "planned", "accepted", "active", "on-hold", "completed", "cancelled",
    "entered-in-error", "rejected"
] }
// ValueSet/care-team-status
code_set! { CARE_TEAM_STATUS, "CareTeamStatus", [
    "proposed", "active", "suspended", "inactive", "entered-in-error"
] }
// ValueSet/medicationrequest-status
code_set! { MEDICATION_REQUEST_STATUS, "medicationrequest Status", [
    "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
    "unknown"
] }
// ValueSet/medicationrequest-intent
code_set! { MEDICATION_REQUEST_INTENT, "medicationRequest Intent", [
    "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order",
    "option"
] }
// ValueSet/medicationdispense-status
code_set! { MEDICATION_DISPENSE_STATUS, "MedicationDispense Status Codes", [
    "preparation", "in-progress", "cancelled", "on-hold", "completed", "entered-in-error",
    "stopped", "declined", "unknown"
] }
// ValueSet/request-intent
code_set! { REQUEST_INTENT, "RequestIntent", [
    "proposal", "plan", "directive", "order", "original-order", "reflex-order", "filler-order",
    "instance-order", "option"
] }
// ValueSet/request-priority
code_set! { REQUEST_PRIORITY, "RequestPriority", ["routine", "urgent", "asap", "stat"] }
// ValueSet/event-status
code_set! { EVENT_STATUS, "EventStatus", [
    "preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
    "unknown"
] }
// ValueSet/immunization-status
code_set! { IMMUNIZATION_STATUS, "ImmunizationStatusCodes", [
    "completed", "entered-in-error", "not-done"
] }
// ValueSet/diagnostic-report-status
code_set! { DIAGNOSTIC_REPORT_STATUS, "DiagnosticReportStatus", [
    "registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
    "cancelled", "entered-in-error", "unknown"
] }
// ValueSet/allergy-intolerance-type
code_set! { ALLERGY_INTOLERANCE_TYPE, "AllergyIntoleranceType", ["allergy", "intolerance"] }
// ValueSet/allergy-intolerance-category
code_set! { ALLERGY_INTOLERANCE_CATEGORY, "AllergyIntoleranceCategory", [
    "food", "medication", "environment", "biologic"
] }
// ValueSet/allergy-intolerance-criticality
code_set! { ALLERGY_INTOLERANCE_CRITICALITY, "AllergyIntoleranceCriticality", [
    "low", "high", "unable-to-assess"
] }
// ValueSet/reaction-event-severity
code_set! { REACTION_EVENT_SEVERITY, "AllergyIntoleranceSeverity", ["mild", "moderate", "severe"] }
// ValueSet/fm-status
code_set! { FINANCIAL_RESOURCE_STATUS, "FinancialResourceStatusCodes", [
    "active", "cancelled", "draft", "entered-in-error"
] }
// ValueSet/explanationofbenefit-status
code_set! { EOB_STATUS, "ExplanationOfBenefitStatus", [
    "active", "cancelled", "draft", "entered-in-error"
] }
// ValueSet/remittance-outcome
code_set! { REMITTANCE_OUTCOME, "ClaimProcessingCodes", ["queued", "complete", "error", "partial"] }
// ValueSet/claim-use
code_set! { CLAIM_USE, "Use", ["claim", "preauthorization", "predetermination"] }
// ValueSet/device-status
code_set! { DEVICE_STATUS, "FHIRDeviceStatus", [
    "active", "inactive", "entered-in-error", "unknown"
] }
// ValueSet/udi-entry-type
code_set! { UDI_ENTRY_TYPE, "UDIEntryType", [
    "barcode", "rfid", "manual", "card", "self-reported", "unknown"
] }
// ValueSet/device-nametype
code_set! { DEVICE_NAME_TYPE, "DeviceNameType", [
    "udi-label-name", "user-friendly-name", "patient-reported-name", "manufacturer-name",
    "model-name", "other"
] }
// ValueSet/document-reference-status
code_set! { DOCUMENT_REFERENCE_STATUS, "DocumentReferenceStatus", [
    "current", "superseded", "entered-in-error"
] }
// ValueSet/composition-status
code_set! { COMPOSITION_STATUS, "CompositionStatus", [
    "preliminary", "final", "amended", "entered-in-error"
] }
// ValueSet/document-relationship-type
code_set! { DOCUMENT_RELATIONSHIP_TYPE, "DocumentRelationshipType", [
    "replaces", "transforms", "signs", "appends"
] }
// ValueSet/link-type
code_set! { LINK_TYPE, "LinkType", ["replaced-by", "replaces", "refer", "seealso"] }
// ValueSet/identity-assuranceLevel
code_set! { IDENTITY_ASSURANCE_LEVEL, "IdentityAssuranceLevel", [
    "level1", "level2", "level3", "level4"
] }
// ValueSet/contact-point-system
code_set! { CONTACT_POINT_SYSTEM, "ContactPointSystem", [
    "phone", "fax", "email", "pager", "url", "sms", "other"
] }
// ValueSet/contact-point-use
code_set! { CONTACT_POINT_USE, "ContactPointUse", ["home", "work", "temp", "old", "mobile"] }
// ValueSet/name-use
code_set! { NAME_USE, "NameUse", [
    "usual", "official", "temp", "nickname", "anonymous", "old", "maiden"
] }
// ValueSet/address-use
code_set! { ADDRESS_USE, "AddressUse", ["home", "work", "temp", "old", "billing"] }
// ValueSet/address-type
code_set!(ADDRESS_TYPE, "AddressType", ["postal", "physical", "both"]);
// ValueSet/identifier-use
code_set! { IDENTIFIER_USE, "IdentifierUse", ["usual", "official", "temp", "secondary", "old"] }
// ValueSet/quantity-comparator
code_set! { QUANTITY_COMPARATOR, "QuantityComparator", ["<", "<=", ">=", ">"] }
// ValueSet/narrative-status
code_set! { NARRATIVE_STATUS, "NarrativeStatus", [
    "generated", "extensions", "additional", "empty"
] }
// ValueSet/days-of-week
code_set! { DAYS_OF_WEEK, "DaysOfWeek", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] }
// ValueSet/units-of-time
code_set! { UNITS_OF_TIME, "UnitsOfTime", ["s", "min", "h", "d", "wk", "mo", "a"] }
// ValueSet/location-status
code_set! { LOCATION_STATUS, "LocationStatus", ["active", "suspended", "inactive"] }
// ValueSet/location-mode
code_set!(LOCATION_MODE, "LocationMode", ["instance", "kind"]);
// ValueSet/slotstatus
code_set! { SLOT_STATUS, "SlotStatus", [
    "busy", "free", "busy-unavailable", "busy-tentative", "entered-in-error"
] }
// ValueSet/specimen-status
code_set! { SPECIMEN_STATUS, "SpecimenStatus", [
    "available", "unavailable", "unsatisfactory", "entered-in-error"
] }
// ValueSet/provenance-entity-role
code_set! { PROVENANCE_ENTITY_ROLE, "ProvenanceEntityRole", [
    "derivation", "revision", "quotation", "source", "removal"
] }
// ValueSet/bundle-type
code_set! { BUNDLE_TYPE, "BundleType", [
    "document", "message", "transaction", "transaction-response", "batch", "batch-response",
    "history", "searchset", "collection"
] }
// ValueSet/http-verb
code_set! { HTTP_VERB, "HTTPVerb", ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] }
// ValueSet/search-entry-mode
code_set! { SEARCH_ENTRY_MODE, "SearchEntryMode", ["match", "include", "outcome"] }

/// The required code set bound to the `code` element `path` (e.g. "Patient.gender",
/// "Appointment.participant.status", "ContactPoint.system"), if any.
pub(super) fn required_codes(path: &str) -> Option<&'static CodeSet> {
    let set = match path {
        "Patient.gender"
        | "Patient.contact.gender"
        | "Practitioner.gender"
        | "RelatedPerson.gender"
        | "Person.gender" => &ADMINISTRATIVE_GENDER,
        "Patient.link.type" => &LINK_TYPE,
        "Person.link.assurance" => &IDENTITY_ASSURANCE_LEVEL,
        "Observation.status" => &OBSERVATION_STATUS,
        "Appointment.status" => &APPOINTMENT_STATUS,
        "Appointment.participant.status" | "AppointmentResponse.participantStatus" => &PARTICIPATION_STATUS,
        "Appointment.participant.required" => &PARTICIPANT_REQUIRED,
        "CarePlan.status" | "ServiceRequest.status" => &REQUEST_STATUS,
        "CarePlan.intent" => &CARE_PLAN_INTENT,
        "CarePlan.activity.detail.status" => &CARE_PLAN_ACTIVITY_STATUS,
        "CarePlan.activity.detail.kind" => &CARE_PLAN_ACTIVITY_KIND,
        "Encounter.status" | "Encounter.statusHistory.status" => &ENCOUNTER_STATUS,
        "Encounter.location.status" => &ENCOUNTER_LOCATION_STATUS,
        "Goal.lifecycleStatus" => &GOAL_LIFECYCLE_STATUS,
        "CareTeam.status" => &CARE_TEAM_STATUS,
        "MedicationRequest.status" => &MEDICATION_REQUEST_STATUS,
        "MedicationRequest.intent" => &MEDICATION_REQUEST_INTENT,
        "MedicationDispense.status" => &MEDICATION_DISPENSE_STATUS,
        "ServiceRequest.intent" => &REQUEST_INTENT,
        "MedicationRequest.priority" | "ServiceRequest.priority" => &REQUEST_PRIORITY,
        "Procedure.status" | "Media.status" => &EVENT_STATUS,
        "Immunization.status" => &IMMUNIZATION_STATUS,
        "DiagnosticReport.status" => &DIAGNOSTIC_REPORT_STATUS,
        "AllergyIntolerance.type" => &ALLERGY_INTOLERANCE_TYPE,
        "AllergyIntolerance.category" => &ALLERGY_INTOLERANCE_CATEGORY,
        "AllergyIntolerance.criticality" => &ALLERGY_INTOLERANCE_CRITICALITY,
        "AllergyIntolerance.reaction.severity" => &REACTION_EVENT_SEVERITY,
        "Claim.status" | "Coverage.status" => &FINANCIAL_RESOURCE_STATUS,
        "ExplanationOfBenefit.status" => &EOB_STATUS,
        "ExplanationOfBenefit.outcome" => &REMITTANCE_OUTCOME,
        "Claim.use" | "ExplanationOfBenefit.use" => &CLAIM_USE,
        "Device.status" => &DEVICE_STATUS,
        "Device.udiCarrier.entryType" => &UDI_ENTRY_TYPE,
        "Device.deviceName.type" => &DEVICE_NAME_TYPE,
        "DocumentReference.status" => &DOCUMENT_REFERENCE_STATUS,
        "DocumentReference.docStatus" => &COMPOSITION_STATUS,
        "DocumentReference.relatesTo.code" => &DOCUMENT_RELATIONSHIP_TYPE,
        "ContactPoint.system" => &CONTACT_POINT_SYSTEM,
        "ContactPoint.use" => &CONTACT_POINT_USE,
        "HumanName.use" => &NAME_USE,
        "Address.use" => &ADDRESS_USE,
        "Address.type" => &ADDRESS_TYPE,
        "Identifier.use" => &IDENTIFIER_USE,
        "Quantity.comparator"
        | "Age.comparator"
        | "Count.comparator"
        | "Distance.comparator"
        | "Duration.comparator"
        | "MoneyQuantity.comparator" => &QUANTITY_COMPARATOR,
        "Narrative.status" => &NARRATIVE_STATUS,
        "Location.hoursOfOperation.daysOfWeek"
        | "PractitionerRole.availableTime.daysOfWeek"
        | "HealthcareService.availableTime.daysOfWeek"
        | "Timing.repeat.dayOfWeek" => &DAYS_OF_WEEK,
        "Timing.repeat.durationUnit" | "Timing.repeat.periodUnit" => &UNITS_OF_TIME,
        "Location.status" => &LOCATION_STATUS,
        "Location.mode" => &LOCATION_MODE,
        "Slot.status" => &SLOT_STATUS,
        "Specimen.status" => &SPECIMEN_STATUS,
        "Provenance.entity.role" => &PROVENANCE_ENTITY_ROLE,
        "Bundle.type" => &BUNDLE_TYPE,
        "Bundle.entry.request.method" => &HTTP_VERB,
        "Bundle.entry.search.mode" => &SEARCH_ENTRY_MODE,
        _ => return None,
    };
    Some(set)
}
