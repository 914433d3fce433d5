//! The resource types Bedside serves. The four patient-access types first, then everything they point
//! to or that imported EHR/Synthea data contains, so that every reference resolves.

/// Every resource type served at `/fhir/{type}`, sorted by name.
pub const SUPPORTED_TYPES: &[&str] = &[
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "CarePlan",
    "CareTeam",
    "Claim",
    "Condition",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Endpoint",
    "ExplanationOfBenefit",
    "Goal",
    "Group",
    "ImagingStudy",
    "Immunization",
    "Location",
    "Media",
    "Medication",
    "MedicationDispense",
    "MedicationRequest",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "RelatedPerson",
    "Schedule",
    "ServiceRequest",
    "Slot",
    "Specimen",
];

/// Is `name` a resource type this server serves?
pub fn is_supported(name: &str) -> bool {
    SUPPORTED_TYPES.binary_search(&name).is_ok()
}
